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
}

impl Reason {
    /// The reason's name (`drawdown`, `book_stale`, …).
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
        }
    }
}

/// At most one of each reason is pushed per evaluation, so this many always fit.
const CAPACITY: usize = 16;

/// The reasons of one evaluation, in the order they were found.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reasons {
    items: [Option<Reason>; CAPACITY],
    len: usize,
}

impl Reasons {
    /// Empties the list.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Appends `reason` (a list already full keeps its first reasons).
    pub fn push(&mut self, reason: Reason) {
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = Some(reason);
            self.len += 1;
        }
    }

    /// How many reasons there are.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The reasons in order.
    pub fn iter(&self) -> impl Iterator<Item = Reason> + '_ {
        self.items[..self.len].iter().flatten().copied()
    }

    /// The reasons' names joined by `,` (the halt's cancel detail).
    pub fn joined(&self) -> String {
        self.iter().map(Reason::name).collect::<Vec<_>>().join(",")
    }
}
