//! Why the trading state is not active: a short ordered list of [`Reason`]s, kept without
//! allocating on every evaluation.

/// One reason for halting or reducing; [`Reason::name`] is the text the journal, the UI and
/// the Python API show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    Drawdown,
    SessionLoss,
    FeedUnsafe,
    BookUnsynced,
    BookCrossed,
    BookStale,
    FeedLag,
    ToxicFlow,
    CircuitBreaker,
    ResumeDelay,
    PositionLimit,
    PositionNotFinite,
    PnlNotFinite,
    LimitNotFinite,
    GateRefused,
    /// An external floor on the state ([`super::RiskManager::set_override`]), by its index
    /// among the overrides in force: its name is the override's source.
    Override(usize),
}

impl Reason {
    /// The reason's name (`drawdown`, `book_stale`, …; an override's is its source, see
    /// [`super::RiskManager::reason_names`]).
    pub fn name(self) -> &'static str {
        match self {
            Reason::Drawdown => "drawdown",
            Reason::SessionLoss => "session_loss",
            Reason::FeedUnsafe => "feed_unsafe",
            Reason::BookUnsynced => "book_unsynced",
            Reason::BookCrossed => "book_crossed",
            Reason::BookStale => "book_stale",
            Reason::FeedLag => "feed_lag",
            Reason::ToxicFlow => "toxic_flow",
            Reason::CircuitBreaker => "circuit_breaker",
            Reason::ResumeDelay => "resume_delay",
            Reason::PositionLimit => "position_limit",
            Reason::PositionNotFinite => "position_not_finite",
            Reason::PnlNotFinite => "pnl_not_finite",
            Reason::LimitNotFinite => "limit_not_finite",
            Reason::GateRefused => "gate_refused",
            Reason::Override(_) => "override",
        }
    }
}

/// The reasons of one evaluation, in the order they were found (the buffer is kept, so an
/// evaluation allocates nothing once it has grown).
#[derive(Clone, Debug, Default)]
pub struct Reasons {
    items: Vec<Reason>,
}

impl Reasons {
    /// Empties the list.
    pub fn clear(&mut self) {
        self.items.clear();
    }

    /// Appends `reason`.
    pub fn push(&mut self, reason: Reason) {
        self.items.push(reason);
    }

    /// How many reasons there are.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The reasons in order.
    pub fn iter(&self) -> impl Iterator<Item = Reason> + '_ {
        self.items.iter().copied()
    }
}
