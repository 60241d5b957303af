//! Criterion benches on the deterministic synthetic Binance stream (1000 levels per side, about
//! 6 changes per event): decode + apply per event, the features record, and the execution path
//! (paper venue + order desk) per book event; and decode + apply per level of the same stream
//! converted to Bybit `orderbook` deltas and OKX `books` updates, next to Binance's.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

use _core::book::{Book, Side as BookSide};
use _core::model::{Price, Qty};
use _core::orders::desk::{no_gate, Desk, DeskConfig};
use _core::paper::{PaperConfig, PaperSim};
use _core::symbol_book::{Config, SymbolBook, Venue};
use _core::synthetic::binance_stream;

const EVENTS: usize = 20_000;

fn synced(snapshot: &str) -> SymbolBook {
    let mut book = SymbolBook::new("BTCUSDT", Venue::BinanceSpot, Config::default()).unwrap();
    book.apply_snapshot(snapshot.as_bytes()).unwrap();
    book
}

fn benches(c: &mut Criterion) {
    let (snapshot, events) = binance_stream(EVENTS, 1000, 6, 1);
    let mut group = c.benchmark_group("binance_spot");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("decode_apply_per_stream", |b| {
        b.iter_batched_ref(
            || synced(&snapshot),
            |book| {
                for event in &events {
                    black_box(book.apply(event.as_bytes()).unwrap());
                }
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("decode_apply_features_per_stream", |b| {
        b.iter_batched_ref(
            || synced(&snapshot),
            |book| {
                for event in &events {
                    black_box(book.apply(event.as_bytes()).unwrap());
                    black_box(book.features(5, None));
                }
            },
            BatchSize::LargeInput,
        )
    });
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

/// One book event of a quoting engine's execution path, all in Rust: the paper venue sees the
/// book (10 levels), the desk takes the venue's responses, then reconciles two levels per side
/// at the touch (so orders move with the market) and sends the changes; a market trade at the
/// bid every third event makes fills.
/// The `[...]` array after `"key":` in a synthetic payload.
fn array_after<'a>(payload: &'a str, key: &str) -> &'a str {
    let start = payload.find(&format!("\"{key}\":[")).unwrap() + key.len() + 3;
    let mut depth = 0;
    for (at, byte) in payload[start..].bytes().enumerate() {
        depth += match byte {
            b'[' => 1,
            b']' => -1,
            _ => 0,
        };
        if depth == 0 {
            return &payload[start..=start + at];
        }
    }
    panic!("unterminated array in {payload}")
}

/// OKX levels carry two more strings (deprecated liquidations, order count).
fn okx_levels(levels: &str) -> String {
    levels
        .replace("\"],", "\",\"0\",\"1\"],")
        .replace("\"]]", "\",\"0\",\"1\"]]")
}

/// The synthetic Binance stream as Bybit spot `orderbook.1000` messages: snapshot, then deltas.
fn bybit_stream(snapshot: &str, events: &[String]) -> (String, Vec<String>) {
    let message = |kind: &str, id: usize, bids: &str, asks: &str| {
        format!(
            "{{\"topic\":\"orderbook.1000.BTCUSDT\",\"ts\":{},\"type\":\"{kind}\",\"data\":{{\"s\":\"BTCUSDT\",\"b\":{bids},\"a\":{asks},\"u\":{id},\"seq\":{}}},\"cts\":{}}}",
            1_786_613_159_749usize + id,
            112_603_120_278usize + id,
            1_786_613_159_748usize + id,
        )
    };
    let first = message(
        "snapshot",
        2,
        array_after(snapshot, "bids"),
        array_after(snapshot, "asks"),
    );
    let deltas = events.iter().enumerate().map(|(i, event)| {
        message(
            "delta",
            i + 3,
            array_after(event, "b"),
            array_after(event, "a"),
        )
    });
    (first, deltas.collect())
}

/// The synthetic Binance stream as OKX `books` messages: snapshot, then updates (no checksum:
/// this measures decode + apply, not the CRC).
fn okx_stream(snapshot: &str, events: &[String]) -> (String, Vec<String>) {
    let message = |action: &str, id: usize, bids: &str, asks: &str| {
        format!(
            "{{\"arg\":{{\"channel\":\"books\",\"instId\":\"BTC-USDT\"}},\"action\":\"{action}\",\"data\":[{{\"asks\":{},\"bids\":{},\"ts\":\"{}\",\"prevSeqId\":{},\"seqId\":{id}}}]}}",
            okx_levels(asks),
            okx_levels(bids),
            1_786_613_159_749usize + id,
            if action == "snapshot" { -1 } else { id as i64 - 1 },
        )
    };
    let first = message(
        "snapshot",
        2,
        array_after(snapshot, "bids"),
        array_after(snapshot, "asks"),
    );
    let updates = events.iter().enumerate().map(|(i, event)| {
        message(
            "update",
            i + 3,
            array_after(event, "b"),
            array_after(event, "a"),
        )
    });
    (first, updates.collect())
}

/// Decode + apply of the same level changes on each venue's format, per level.
fn per_level(c: &mut Criterion, snapshot: &str, events: &[String]) {
    // Each level opens with `["`, and nothing else in a diff does.
    let levels: usize = events.iter().map(|e| e.matches("[\"").count()).sum();
    let bybit = bybit_stream(snapshot, events);
    let okx = okx_stream(snapshot, events);
    let binance = (snapshot.to_owned(), events.to_vec());
    let mut reference: Option<Book> = None;
    let mut group = c.benchmark_group("decode_apply_per_level");
    group.throughput(Throughput::Elements(levels as u64));
    for (name, symbol, venue, (first, stream)) in [
        ("binance_spot", "BTCUSDT", Venue::BinanceSpot, binance),
        ("bybit_spot", "BTCUSDT", Venue::BybitSpot, bybit),
        ("okx", "BTC-USDT", Venue::Okx, okx),
    ] {
        let start = || {
            let mut book = SymbolBook::new(symbol, venue, Config::default()).unwrap();
            if venue == Venue::BinanceSpot {
                book.apply_snapshot(first.as_bytes()).unwrap();
            } else {
                book.apply(first.as_bytes()).unwrap();
            }
            book
        };
        // The converted streams must build the very same book, or the comparison is void.
        let mut book = start();
        for event in &stream {
            book.apply(event.as_bytes()).unwrap();
        }
        assert!(book.is_synced(), "{name}");
        match &reference {
            None => reference = Some(book.book().clone()),
            Some(expected) => assert_eq!(book.book(), expected, "{name}"),
        }
        group.bench_function(name, |b| {
            b.iter_batched_ref(
                start,
                |book| {
                    for event in &stream {
                        black_box(book.apply(event.as_bytes()).unwrap());
                    }
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

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
