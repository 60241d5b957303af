//! Criterion benches: decode + apply per event and the features record, on the deterministic
//! synthetic Binance stream (1000 levels per side, about 6 changes per event).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

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
    let mut book = synced(&snapshot);
    for event in &events {
        book.apply(event.as_bytes()).unwrap();
    }
    c.bench_function("features_top5", |b| {
        b.iter(|| black_box(book.features(5, None)))
    });
}

criterion_group! {
    name = core;
    config = Criterion::default().sample_size(20);
    targets = benches
}
criterion_main!(core);
