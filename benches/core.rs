//! Criterion benches on the deterministic synthetic Binance stream (1000 levels per side, about
//! 6 changes per event): decode + apply per event, the features record, and the execution path
//! (paper venue + order desk) per book event; and decode + apply per level of the same stream
//! converted to Bybit `orderbook` deltas and OKX `books` updates, next to Binance's.

use std::hint::black_box;

mod common;

use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BatchSize, BenchmarkGroup, Criterion, Throughput,
};

use _core::book::{Book, Side as BookSide};
use _core::model::{Price, Qty};
use _core::orders::desk::{no_gate, Desk, DeskConfig};
use _core::paper::{PaperConfig, PaperSim};
use _core::symbol_book::{Config, SymbolBook, Venue};
use _core::synthetic::binance_stream;
use common::{binance_capture, venue_streams, Payloads, VenueStream};

const EVENTS: usize = 20_000;

fn synced(snapshot: &str) -> SymbolBook {
    let mut book = SymbolBook::new("BTCUSDT", Venue::BinanceSpot, Config::default()).unwrap();
    book.apply_snapshot(snapshot.as_bytes()).unwrap();
    book
}

fn benches(c: &mut Criterion) {
    let (snapshot, events) = binance_stream(EVENTS, 1000, 6, 1);
    let payloads = Payloads::new(&events);
    let mut group = c.benchmark_group("binance_spot");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("decode_apply_per_stream", |b| {
        b.iter_batched_ref(
            || synced(&snapshot),
            |book| {
                for event in payloads.iter() {
                    black_box(book.apply(event).unwrap());
                }
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("decode_apply_features_per_stream", |b| {
        b.iter_batched_ref(
            || synced(&snapshot),
            |book| {
                for event in payloads.iter() {
                    black_box(book.apply(event).unwrap());
                    black_box(book.features(5, None));
                }
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
    // The real capture (FTMUSDT, 222 diffs of 4.4 levels on a 5000-level book), per event.
    let capture = binance_capture();
    let mut group = c.benchmark_group("binance_capture");
    group.throughput(Throughput::Elements(capture.events.len() as u64));
    bench_stream(&mut group, "decode_apply_per_stream", &capture);
    group.finish();
    per_level(c, &snapshot, &events);
    let mut book = synced(&snapshot);
    for event in &events {
        book.apply(event.as_bytes()).unwrap();
    }
    c.bench_function("features_top5", |b| {
        b.iter(|| black_box(book.features(5, None)))
    });
}

/// Decode + apply of the same level changes on each venue's format, per level.
fn per_level(c: &mut Criterion, snapshot: &str, events: &[String]) {
    let mut reference: Option<Book> = None;
    let mut group = c.benchmark_group("decode_apply_per_level");
    let streams = venue_streams(snapshot, events);
    group.throughput(Throughput::Elements(streams[0].events.levels() as u64));
    for stream in streams {
        // The converted streams must build the very same book, or the comparison is void.
        let mut book = stream.start();
        for event in stream.events.iter() {
            book.apply(event).unwrap();
        }
        assert!(book.is_synced(), "{}", stream.name);
        match &reference {
            None => reference = Some(book.book().clone()),
            Some(expected) => assert_eq!(book.book(), expected, "{}", stream.name),
        }
        bench_stream(&mut group, stream.name, &stream);
    }
    group.finish();
}

/// Decode + apply of a whole stream's diffs on a freshly synced book.
fn bench_stream(group: &mut BenchmarkGroup<'_, WallTime>, name: &str, stream: &VenueStream) {
    group.bench_function(name, |b| {
        b.iter_batched_ref(
            || stream.start(),
            |book| {
                for event in stream.events.iter() {
                    black_box(book.apply(event).unwrap());
                }
            },
            BatchSize::LargeInput,
        )
    });
}

/// One book event of a quoting engine's execution path, all in Rust: the paper venue sees the
/// book (10 levels), the desk takes the venue's responses, then reconciles two levels per side
/// at the touch (so orders move with the market) and sends the changes; a market trade at the
/// bid every third event makes fills.
fn execution_step(
    i: usize,
    book: &SymbolBook,
    sim: &mut PaperSim,
    desk: &mut Desk,
    actions: &mut Vec<_core::orders::desk::Action>,
) {
    const TICK: f64 = 0.01;
    let now = i as f64 * 0.001;
    let view = book.book();
    sim.on_book_scaled(
        view.scaled_levels(BookSide::Bid, 10),
        view.scaled_levels(BookSide::Ask, 10),
        view.price_scale,
        view.qty_scale,
        now,
    )
    .unwrap();
    desk.take_from_paper(sim, 0, now, |_, _, _| {});
    let best = |side| view.float_levels(side, 1).next().unwrap().0 / TICK;
    let (bid, ask) = (
        Price(best(BookSide::Bid).round() as i64),
        Price(best(BookSide::Ask).round() as i64),
    );
    if i % 3 == 2 {
        sim.on_trade(bid, Qty(50_000_000), false, now).unwrap(); // 0.5 in lots of 1e-8
    }
    actions.clear();
    const SIZE: Qty = Qty(1_000_000); // 0.01
    let bids = [(bid, SIZE), (bid - 1, SIZE)];
    let asks = [(ask, SIZE), (ask + 1, SIZE)];
    let fair = (bid.ticks() + ask.ticks()) as f64 / 2.0;
    let lead = desk.lead_side(0);
    desk.reconcile(&bids, &asks, fair, now, lead, &mut no_gate, actions)
        .unwrap();
    desk.send_to_paper(sim, "BTCUSDT", 0, actions, now).unwrap();
}

fn execution(c: &mut Criterion) {
    let (snapshot, events) = binance_stream(EVENTS, 1000, 6, 1);
    let mut group = c.benchmark_group("execution");
    group.throughput(Throughput::Elements(EVENTS as u64));
    let cfg = DeskConfig {
        lot_size: 1e-8,
        tolerance_ticks: 0.0,
        tolerance_bps: 0.0,
        size_tolerance: 0.25,
        max_order_age_s: 30.0,
        recent_fill_ids: 10_000,
        max_open_orders: 200,
        can_amend: true,
    };
    group.bench_function("book_paper_desk_per_stream", |b| {
        b.iter_batched_ref(
            || {
                let sim = PaperSim::new(PaperConfig::default()).unwrap();
                let desk = Desk::new(cfg.clone(), "mm-BTCUSDT-".into()).unwrap();
                (synced(&snapshot), sim, desk, Vec::new())
            },
            |(book, sim, desk, actions)| {
                for (i, event) in events.iter().enumerate() {
                    black_box(book.apply(event.as_bytes()).unwrap());
                    execution_step(i, book, sim, desk, actions);
                }
                black_box(desk.placed)
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group! {
    name = core;
    config = Criterion::default().sample_size(20);
    targets = benches, execution
}
criterion_main!(core);
