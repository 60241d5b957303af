//! `EngineCore`: the engine step (`crate::engine`) over the Python-owned components, once per
//! event (live, paper) or over a whole batch of events in one call (backtests).

use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};

use super::desk::OrderDesk;
use super::errors::payload_bytes;
use super::order_book::OrderBook;
use super::paper::{fill_tuple, FillTuple, PaperSim};
use super::portfolio::PositionCore;
use super::quoter::QuoteCore;
use super::risk::RiskCore;
use super::risk_gate::PreTradeGate;
use crate::arg_error::ArgError;
use crate::engine::{fair, Assessed, Engine, EngineConfig, FillRecord, Outcome, Overlay, Parts};
use crate::model::Price;
use crate::orders::desk::Target;
use crate::orders::Qty;
use crate::symbol_book::Status;

/// `(fill tuple, price, signed_qty, mark, now)`: a fill applied in a batch (see `run_batch`).
type FillRow = (FillTuple, f64, f64, f64, f64);

/// `(status, fair, half, skew, fits, bids, asks)`: a step's quote decision (see `step`), the
/// targets as `(price_ticks, lots)`.
type DecisionRow = (u8, f64, f64, f64, u64, Vec<(i64, i64)>, Vec<(i64, i64)>);

/// The engine step of one symbol over its components (each still usable from Python between
/// calls): the book, the quote model, the order desk, the risk manager (with its gate), the
/// position and, for paper trading and backtests, the paper venue.
#[pyclass(module = "mmcore._core")]
pub struct EngineCore {
    inner: Engine,
    book: Py<OrderBook>,
    quoter: Py<QuoteCore>,
    desk: Py<OrderDesk>,
    risk: Py<RiskCore>,
    position: Py<PositionCore>,
    sim: Option<Py<PaperSim>>,
    symbol: String,
}

fn busy(what: &str) -> PyErr {
    PyRuntimeError::new_err(format!("{what}: in use elsewhere during the engine step"))
}

impl EngineCore {
    /// Borrows every component and runs `f` on them; `route`: the desk's actions go to the
    /// paper venue within the step.
    fn with_parts<T>(
        &mut self,
        py: Python<'_>,
        route: bool,
        f: impl FnOnce(&mut Engine, &mut Parts<'_>, &PaperNames<'_>) -> PyResult<T>,
    ) -> PyResult<T> {
        let mut book = self
            .book
            .bind(py)
            .try_borrow_mut()
            .map_err(|_| busy("book"))?;
        let mut quoter = self
            .quoter
            .bind(py)
            .try_borrow_mut()
            .map_err(|_| busy("quoter"))?;
        let mut desk = self
            .desk
            .bind(py)
            .try_borrow_mut()
            .map_err(|_| busy("desk"))?;
        let mut risk = self
            .risk
            .bind(py)
            .try_borrow_mut()
            .map_err(|_| busy("risk"))?;
        let gate: Py<PreTradeGate> = risk.gate.clone_ref(py);
        let mut gate = gate.bind(py).try_borrow_mut().map_err(|_| busy("gate"))?;
        let mut position = self
            .position
            .bind(py)
            .try_borrow_mut()
            .map_err(|_| busy("position"))?;
        let mut sim = match &self.sim {
            Some(sim) => Some(
                sim.bind(py)
                    .try_borrow_mut()
                    .map_err(|_| busy("paper venue"))?,
            ),
            None => None,
        };
        let desk = &mut *desk;
        let names;
        let sim_part = match sim.as_deref_mut() {
            Some(sim) => {
                let prefix = sim.prefixes.intern(desk.inner.id_prefix());
                let name = sim.inner.config().name.clone();
                desk.paper.get_or_insert_with(|| name.clone());
                names = PaperNames {
                    name,
                    prefixes: Some(&sim.prefixes),
                };
                Some((&mut sim.inner, prefix, self.symbol.as_str()))
            }
            None => {
                names = PaperNames {
                    name: String::new(),
                    prefixes: None,
                };
                None
            }
        };
        let mut parts = Parts {
            book: &mut book.inner,
            quoter: &mut quoter.inner,
            desk: &mut desk.inner,
            actions: &mut desk.actions,
            gate: &mut gate.inner,
            risk: &mut risk.inner,
            position: &mut position.inner,
            sim: sim_part,
            route,
        };
        f(&mut self.inner, &mut parts, &names)
    }
}

/// How the paper venue's fills are named for Python.
struct PaperNames<'a> {
    name: String,
    prefixes: Option<&'a crate::model::Prefixes>,
}

impl PaperNames<'_> {
    fn row(&self, lot: &crate::model::LotSize, r: &FillRecord) -> Option<FillRow> {
        let fields = r.event.fill_fields()?;
        let tuple = fill_tuple(&self.name, lot, self.prefixes?, fields);
        Some((tuple, r.price, r.signed_qty, r.mark, r.now))
    }
}

fn decision_row(
    bids: &[Target],
    asks: &[Target],
    d: &crate::quote::Decision,
    fits: u64,
) -> DecisionRow {
    let rows = |targets: &[Target]| targets.iter().map(|(p, q)| (p.ticks(), q.lots())).collect();
    (
        d.status as u8,
        d.fair,
        d.half,
        d.skew,
        fits,
        rows(bids),
        rows(asks),
    )
}

/// `exchange_clock_offset_s`, refused when not finite (it dates every market event).
fn finite_offset(offset: Option<f64>) -> Result<Option<f64>, ArgError> {
    if let Some(c) = offset {
        crate::arg_error::finite(&[("exchange_clock_offset_s", c)])?;
    }
    Ok(offset)
}

/// What the caller knows before a step: a book from a safe feed arrived, or the feed cannot
/// be trusted.
fn arrive(engine: &mut Engine, now: f64, received: bool, feed_safe: bool) {
    if received {
        engine.book_received(now);
    }
    if !feed_safe {
        engine.feed_safe = false;
    }
}

#[pymethods]
impl EngineCore {
    /// The step over `book`, `quoter`, `desk`, `risk` (its gate must be the one `desk`
    /// consults), `position` and the paper venue `sim` (None: a live venue, whose orders the
    /// caller routes). Keyword arguments: book levels read (`depth`) and shown to the paper
    /// venue (`sim_levels`), the tick, the ladder (`levels`, `spacing`), the fair value
    /// (`microprice_weight`, `flow_alpha_bps` (0: no flow signal), `flow_halflife_s`,
    /// `lean_bps`), `wall_clock_offset_s` and `exchange_clock_offset_s` (see `Engine`).
    #[new]
    #[pyo3(signature = (book, quoter, desk, risk, position, sim=None, *, symbol, depth,
                        sim_levels, tick_size, levels, spacing, microprice_weight,
                        flow_alpha_bps, flow_halflife_s, lean_bps, wall_clock_offset_s=None,
                        exchange_clock_offset_s=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        book: Py<OrderBook>,
        quoter: Py<QuoteCore>,
        desk: Py<OrderDesk>,
        risk: Py<RiskCore>,
        position: Py<PositionCore>,
        sim: Option<Py<PaperSim>>,
        symbol: String,
        depth: usize,
        sim_levels: usize,
        tick_size: f64,
        levels: usize,
        spacing: i64,
        microprice_weight: f64,
        flow_alpha_bps: f64,
        flow_halflife_s: f64,
        lean_bps: f64,
        wall_clock_offset_s: Option<f64>,
        exchange_clock_offset_s: Option<f64>,
    ) -> PyResult<Self> {
        if spacing < 1 {
            return Err(PyValueError::new_err(format!(
                "spacing: must be >= 1, got {spacing}"
            )));
        }
        let flow = (flow_alpha_bps > 0.0).then_some((flow_alpha_bps, flow_halflife_s));
        let inner = Engine::new(EngineConfig {
            depth,
            sim_levels,
            tick_size,
            levels,
            spacing,
            microprice_weight,
            flow,
            lean_bps,
            wall_clock_offset_s,
            exchange_clock_offset_s: finite_offset(exchange_clock_offset_s)?,
        })?;
        Ok(EngineCore {
            inner,
            book,
            quoter,
            desk,
            risk,
            position,
            sim,
            symbol,
        })
    }

    /// The advisors' overlay for the next steps (Python updates it on its own clock).
    fn set_overlay(
        &mut self,
        spread_mult: f64,
        size_mult: f64,
        limit_mult: f64,
        toxic_probability: f64,
        halt: bool,
        lean: f64,
    ) {
        self.inner.overlay = Overlay {
            spread_mult,
            size_mult,
            limit_mult,
            toxic_probability,
            halt,
            lean,
        };
    }

    /// One step at `now` (`received`: a book from a safe feed just arrived; `feed_safe`
    /// False: the feed cannot be trusted, halt). The desk's actions are left for the caller
    /// to send (`OrderDesk.flush`). Returns `(kind, decision)`: kind 0 stopped, 1 halted, 2
    /// halted now (every order cancelled), 3 flatten (a marketable order to send as a plain
    /// limit order), 4 quoted with `decision` = `(status, fair, half, skew, fits, bids,
    /// asks)` (the targets sent to the desk, `(price_ticks, qty)`), else None.
    #[pyo3(signature = (now, received, feed_safe=true))]
    fn step(
        &mut self,
        py: Python<'_>,
        now: f64,
        received: bool,
        feed_safe: bool,
    ) -> PyResult<(u8, Option<DecisionRow>)> {
        self.with_parts(py, false, |engine, parts, _| {
            arrive(engine, now, received, feed_safe);
            Ok(match engine.step(parts, now, received)? {
                Outcome::Stopped => (0, None),
                Outcome::Halted { cancelled } => (1 + u8::from(cancelled), None),
                Outcome::Flatten => (3, None),
                Outcome::Quoted(d) => {
                    let fits = parts.quoter.calibration().fits();
                    let (bids, asks) = engine.targets();
                    (4, Some(decision_row(bids, asks, &d, fits)))
                }
            })
        })
    }

    /// The step up to the quote decision, for a strategy written in Python (the slow path):
    /// returns the kind as `step` does, 4 meaning "decide now" (features, mark and risk done);
    /// then `submit` the strategy's targets. The desk's actions are left for the caller.
    #[pyo3(signature = (now, received, feed_safe=true))]
    fn assess(
        &mut self,
        py: Python<'_>,
        now: f64,
        received: bool,
        feed_safe: bool,
    ) -> PyResult<u8> {
        self.with_parts(py, false, |engine, parts, _| {
            arrive(engine, now, received, feed_safe);
            Ok(match engine.assess(parts, now, received)? {
                Assessed::Done(Outcome::Stopped) => 0,
                Assessed::Done(Outcome::Halted { cancelled }) => 1 + u8::from(cancelled),
                Assessed::Done(Outcome::Flatten) => 3,
                Assessed::Done(Outcome::Quoted(_)) | Assessed::Quote(..) => 4,
            })
        })
    }

    /// Diffs the desk towards a Python strategy's `bids` and `asks` (`(price_ticks, lots)`
    /// integer pairs, best first) after `assess`; only the side that shrinks the position
    /// while reducing. A negative size is refused (ValueError naming `bids` or `asks`).
    fn submit(
        &mut self,
        py: Python<'_>,
        bids: Vec<(i64, i64)>,
        asks: Vec<(i64, i64)>,
        fair_ticks: f64,
        now: f64,
    ) -> PyResult<()> {
        let targets = |arg: &'static str, pairs: Vec<(i64, i64)>| {
            pairs
                .into_iter()
                .map(|(price, lots)| {
                    if lots < 0 {
                        return Err(ArgError::new(
                            arg,
                            format!("sizes must be >= 0, got {lots}"),
                        ));
                    }
                    Ok((Price(price), Qty(lots)))
                })
                .collect::<Result<Vec<Target>, ArgError>>()
        };
        let (bids, asks) = (targets("bids", bids)?, targets("asks", asks)?);
        self.with_parts(py, false, |engine, parts, _| {
            Ok(engine.submit(parts, &bids, &asks, fair_ticks, now)?)
        })
    }

    /// Runs `items`, `(time_s, payload | Trade)` pairs, through the book and the step with
    /// the paper venue (orders routed to it within the call): the backtest's batch path.
    /// Returns `(book_events, trades, skipped, fills)`, `fills` the fills applied as `(fill
    /// tuple, price, signed_qty, mark, now)` when `collect_fills`, else empty. A payload the
    /// book refuses counts as skipped. Errors (a bad item, a refused fill) stop the batch
    /// and raise with the item's index; what ran before it stays applied.
    #[pyo3(signature = (items, collect_fills=true))]
    fn run_batch<'py>(
        &mut self,
        py: Python<'py>,
        items: &Bound<'py, PyAny>,
        collect_fills: bool,
    ) -> PyResult<(u64, u64, u64, Bound<'py, PyList>)> {
        if self.sim.is_none() {
            return Err(PyValueError::new_err(
                "run_batch: needs the paper venue (sim)",
            ));
        }
        let fills = PyList::empty(py);
        let (mut book_events, mut trades, mut skipped) = (0u64, 0u64, 0u64);
        let mut rows: Vec<FillRecord> = Vec::new();
        let mut sink = |r: FillRecord| {
            if collect_fills {
                rows.push(r);
            }
        };
        let names_price = intern!(py, "price_ticks");
        let names_qty = intern!(py, "qty");
        let names_buyer = intern!(py, "buyer_aggressor");
        let mut lot = None;
        let mut names_out = None;
        let result = self.with_parts(py, true, |engine, parts, names| {
            lot = parts.sim.as_ref().map(|(sim, _, _)| *sim.lot());
            names_out = Some((names.name.clone(), names.prefixes.cloned()));
            for (index, item) in items.try_iter()?.enumerate() {
                let item = item?;
                let pair = item
                    .cast::<PyTuple>()
                    .ok()
                    .filter(|t| t.len() == 2)
                    .ok_or_else(|| {
                        PyTypeError::new_err(format!(
                            "items[{index}]: expected (time_s, payload | Trade)"
                        ))
                    })?;
                let now: f64 = pair.get_item(0)?.extract()?;
                let what = pair.get_item(1)?;
                // a payload is bytes or str, anything else a trade (no error built per trade)
                let payload = what.cast::<PyBytes>().is_ok() || what.cast::<PyString>().is_ok();
                let ran = if payload {
                    let bytes = payload_bytes(&what)?;
                    if parts.book.apply(bytes)? == Status::Applied {
                        book_events += 1;
                        engine.on_book(parts, now, &mut sink).map(|_| ())
                    } else {
                        skipped += 1;
                        Ok(())
                    }
                } else {
                    let trade = || -> PyResult<(i64, f64, bool)> {
                        Ok((
                            what.getattr(names_price)?.extract()?,
                            what.getattr(names_qty)?.extract()?,
                            what.getattr(names_buyer)?.extract()?,
                        ))
                    };
                    let (price, qty, buyer) = trade().map_err(|err| {
                        PyTypeError::new_err(format!(
                            "items[{index}]: expected a payload (bytes, str) or a Trade: {err}"
                        ))
                    })?;
                    trades += 1;
                    engine.on_trade(parts, price, qty, buyer, now, &mut sink)
                };
                ran.map_err(|err| PyValueError::new_err(format!("items[{index}]: {err}")))?;
            }
            Ok(())
        });
        if let (Some(lot), Some((name, Some(prefixes)))) = (lot, names_out) {
            let names = PaperNames {
                name,
                prefixes: Some(&prefixes),
            };
            for r in &rows {
                if let Some(row) = names.row(&lot, r) {
                    fills.append(row)?;
                }
            }
        }
        result?;
        Ok((book_events, trades, skipped, fills))
    }

    /// `now + offset` is Unix time (None: simulated time), see `Engine.wall_clock_offset_s`.
    #[setter]
    fn set_wall_clock_offset_s(&mut self, offset: Option<f64>) {
        self.inner.set_wall_clock_offset(offset);
    }

    /// How the paper venue dates market events: None, by its `feed_latency_s`; a number `c`,
    /// by the event time of the frame the book applied last, `event time -
    /// wall_clock_offset_s - c` on our clock (`c`: how far the exchange's clock runs ahead).
    #[setter]
    fn set_exchange_clock_offset_s(&mut self, offset: Option<f64>) -> PyResult<()> {
        self.inner.set_exchange_clock_offset(finite_offset(offset)?);
        Ok(())
    }

    /// The paper venue sees the book at `now` (dated as `exchange_clock_offset_s` says): the
    /// per-event path's half of `run_batch`'s book step. Nothing without a paper venue.
    fn show_book(&mut self, py: Python<'_>, now: f64) -> PyResult<()> {
        self.with_parts(py, false, |engine, parts, _| {
            Ok(engine.show_book(parts, now)?)
        })
    }

    /// The paper venue sees a market trade at `now` (dated as `exchange_clock_offset_s`
    /// says; the book's event time is the trade frame's): fills resting orders it reaches.
    /// Nothing without a paper venue.
    fn show_trade(
        &mut self,
        py: Python<'_>,
        price_ticks: i64,
        qty: f64,
        buyer_aggressor: bool,
        now: f64,
    ) -> PyResult<()> {
        self.with_parts(py, false, |engine, parts, _| {
            Ok(engine.show_trade(parts, price_ticks, qty, buyer_aggressor, now)?)
        })
    }

    /// The book the step reads (a feed may hand the engine another one, e.g. after a
    /// resync builds a new book).
    #[setter]
    fn set_book(&mut self, book: Py<OrderBook>) {
        self.book = book;
    }

    /// True when the last step saw a crossed book.
    #[getter]
    fn crossed(&self) -> bool {
        self.inner.crossed
    }

    /// Fills applied to the position by the step (batches included).
    #[getter]
    fn fills(&self) -> u64 {
        self.inner.fills
    }

    /// The last order-flow signal in [-1, 1] (0 while it is off).
    #[getter]
    fn flow_signal(&self) -> f64 {
        self.inner.flow_signal
    }

    /// After shutdown: events are still processed, nothing is quoted.
    #[getter]
    fn stopped(&self) -> bool {
        self.inner.stopped
    }

    #[setter(stopped)]
    fn set_stopped(&mut self, stopped: bool) {
        self.inner.stopped = stopped;
    }
}

/// The order-flow signal (`rust/engine/fair.rs`) for Python's `Quoter`: the book's OFI
/// increments over their absolute size, decayed with a half-life in seconds.
#[pyclass(module = "mmcore._core")]
pub struct FlowSignal {
    inner: fair::FlowSignal,
}

#[pymethods]
impl FlowSignal {
    /// A signal at 0 with no OFI seen (`halflife_s` > 0).
    #[new]
    fn new(halflife_s: f64) -> PyResult<Self> {
        crate::arg_error::positive(&[("halflife_s", halflife_s)])?;
        Ok(FlowSignal {
            inner: fair::FlowSignal::new(halflife_s),
        })
    }

    /// Takes the book's running OFI at `now` (NaN: no book yet); returns the signal in [-1, 1].
    fn update(&mut self, ofi_total: f64, now: f64) -> f64 {
        self.inner.update(ofi_total, now)
    }
}

/// The fair value in place of the microprice: moved towards the mid by `weight`, then by
/// `shift_bps`; None when nothing moves it.
#[pyfunction]
pub fn fair_price(mid: f64, microprice: f64, weight: f64, shift_bps: f64) -> Option<f64> {
    fair::fair_price(mid, microprice, weight, shift_bps)
}

/// The prices of a ladder of `levels` quotes from `best`, `spacing` ticks apart away from
/// fair (`direction` -1 bids, +1 asks), none at or below zero.
#[pyfunction]
pub fn ladder_prices(best: i64, direction: i64, levels: usize, spacing: i64) -> Vec<i64> {
    let mut out = Vec::with_capacity(levels);
    fair::ladder(
        best,
        crate::orders::Qty(0),
        direction,
        levels,
        spacing,
        &mut out,
    );
    out.into_iter().map(|(price, _)| price.ticks()).collect()
}
