//! Criterion bench of the Rust engine step per event (`rust/engine/`), the path a backtest
//! batch runs: per book event decode + apply, the paper venue's view, venue responses, features,
//! marks, risk, quote model, gate, desk diff and orders to the paper venue; a market trade at
//! the touch after every third book event (calibration input and venue matching). The configs
//! are those of `mmcore.testing.trading` (two levels per side, 5 ms latencies, no requote
//! tolerance): the `quoting` scenario of `benches/test_engine_bench.py`.

use std::hint::black_box;

use criterion::{criterion_group, BatchSize, Criterion, Throughput};

use _core::engine::{Engine, EngineConfig, FillRecord, Parts};
use _core::orders::desk::{Desk, DeskConfig};
use _core::paper::{PaperConfig, PaperSim};
use _core::portfolio::{Grid, Position};
use _core::quote::{ModelParams, QuoteConfig, Quoter};
use _core::risk::{KillAction, KillResume, RiskConfig, RiskManager};
use _core::risk_gate::{GateConfig, PreTradeGate};
use _core::symbol_book::{Config, Status, SymbolBook, Venue};
use _core::synthetic::binance_stream;

const EVENTS: usize = 20_000;
const TICK: f64 = 0.01;
const LOT: f64 = 0.0001;
/// Ticks per bps at the synthetic stream's price (65,000).
const TICKS_PER_BPS: f64 = 65_000.0 * 1e-4 / TICK;

struct Rig {
    book: SymbolBook,
    quoter: Quoter,
    desk: Desk,
    actions: Vec<_core::orders::desk::Action>,
    gate: PreTradeGate,
    risk: RiskManager,
    position: Position,
    sim: PaperSim,
    engine: Engine,
}

fn rig(snapshot: &str) -> Rig {
    let mut book = SymbolBook::new("BTCUSDT", Venue::BinanceSpot, Config::default()).unwrap();
    book.apply_snapshot(snapshot.as_bytes()).unwrap();
    let quoter = Quoter::new(QuoteConfig {
        gamma: 0.05 * TICKS_PER_BPS,
        prior: ModelParams {
            sigma: 1.0 / TICKS_PER_BPS,
            a: 1.0,
            k: 0.5 * TICKS_PER_BPS,
        },
        fee_margin_bps: 0.0,
        ..QuoteConfig::default()
    })
    .unwrap();
    let desk = Desk::new(
        DeskConfig {
            lot_size: LOT,
            tolerance_ticks: 0.0,
            tolerance_bps: 0.0,
            size_tolerance: 0.25,
            max_order_age_s: 30.0,
            recent_fill_ids: 10_000,
            max_open_orders: 200,
            can_amend: true, // the paper venue amends, as `OrderManager` sets it up
        },
        "mm-BTCUSDT-".into(),
    )
    .unwrap();
    let gate = PreTradeGate::new(GateConfig {
        max_notional: 10_000.0,
        tick_size: TICK,
        lot_size: LOT,
        max_orders_per_s: 1000.0,
        order_burst: 1000.0,
    })
    .unwrap();
    let risk = RiskManager::new(RiskConfig {
        max_position: 0.1,
        max_drawdown: 1e12,
        session_loss_limit: 2e12,
        kill_action: KillAction::ReduceOnly,
        flatten_max_qty: 0.0,
        flatten_max_bps: 10.0,
        reduce_at: 0.8,
        stale_book_s: 0.5,
        max_feed_lag_s: 0.25,
        toxic_widen: 0.4,
        toxic_pull: 0.7,
        toxic_widen_mult: 2.0,
        kill_switch_resume: KillResume::Manual,
        kill_switch_cooldown_s: 300.0,
        resume_delay_s: 0.0,
        lot_size: LOT,
        tick_size: TICK,
    })
    .unwrap();
    let position = Position::new(Grid::new((1, 100), (1, 10_000), TICK, LOT).unwrap());
    let sim = PaperSim::new(PaperConfig {
        maker_fee_bps: 0.0,
        lot_size: LOT,
        ..PaperConfig::default()
    })
    .unwrap();
    let engine = Engine::new(EngineConfig {
        depth: 5,
        sim_levels: 10,
        tick_size: TICK,
        levels: 2,
        spacing: 1,
        microprice_weight: 1.0,
        flow: None,
        lean_bps: 0.0,
        wall_clock_offset_s: None,
        exchange_clock_offset_s: None,
    })
    .unwrap();
    Rig {
        book,
        quoter,
        desk,
        actions: Vec::new(),
        gate,
        risk,
        position,
        sim,
        engine,
    }
}

// never inlined: callgrind's `--toggle-collect` counts this call alone
#[inline(never)]
fn run(r: &mut Rig, events: &[String]) -> u64 {
    let mut parts = Parts {
        book: &mut r.book,
        quoter: &mut r.quoter,
        desk: &mut r.desk,
        actions: &mut r.actions,
        gate: &mut r.gate,
        risk: &mut r.risk,
        position: &mut r.position,
        sim: Some((&mut r.sim, 0, "BTCUSDT")),
        route: true,
    };
    let mut sink = |f: FillRecord| {
        black_box(f);
    };
    for (i, event) in events.iter().enumerate() {
        let now = (i + 1) as f64 * 0.01;
        if parts.book.apply(event.as_bytes()).unwrap() == Status::Applied {
            black_box(r.engine.on_book(&mut parts, now, &mut sink).unwrap());
        }
        if i % 3 == 0 {
            let touch = parts
                .book
                .book()
                .float_levels(_core::book::Side::Bid, 1)
                .next();
            let bid = (touch.unwrap().0 / TICK).round() as i64;
            r.engine
                .on_trade(&mut parts, bid, 0.01, false, now, &mut sink)
                .unwrap();
        }
    }
    r.engine.fills
}

fn engine_step(c: &mut Criterion) {
    let (snapshot, events) = binance_stream(EVENTS, 50, 6, 5);
    let mut group = c.benchmark_group("engine");
    // book events plus trades, as the Python benches count events
    group.throughput(Throughput::Elements((EVENTS + EVENTS.div_ceil(3)) as u64));
    group.bench_function("step_per_event", |b| {
        b.iter_batched_ref(
            || rig(&snapshot),
            |r| black_box(run(r, &events)),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group! {
    name = engine;
    config = Criterion::default().sample_size(10);
    targets = engine_step
}

/// `--once`: one replay of the session, no criterion (which does not run under valgrind), for
/// an instruction count of the step alone:
/// `valgrind --tool=callgrind --toggle-collect='*engine_step*run*' <bench binary> --once`.
fn main() {
    if std::env::args().any(|a| a == "--once") {
        let (snapshot, events) = binance_stream(EVENTS, 50, 6, 5);
        let mut r = rig(&snapshot);
        println!("fills {}", black_box(run(&mut r, &events)));
        return;
    }
    engine();
    Criterion::default().configure_from_args().final_summary();
}
