//! Instructions per event and per level of decode + apply, counted by callgrind: wall-clock
//! figures on this shared machine move by 2× with the load, instruction counts by well under 1%.
//!
//! `cargo bench --bench decode_instructions` runs itself under
//! `valgrind --tool=callgrind --toggle-collect=<replay>` once per venue (the synthetic Binance
//! stream of `core.rs`, and its Bybit and OKX copies) and prints the counts; only the replay of
//! the diffs is counted, not building the stream or syncing the book. Needs valgrind.
//!
//! `cargo bench --bench decode_instructions -- --wall [ROUNDS]` times the same replay natively
//! instead, ROUNDS times per venue (default 300), and prints the fastest and the median round
//! per event and per level: on a loaded machine the fastest round is the one least disturbed,
//! so two binaries compare best on it.

mod common;

use std::process::{Command, ExitCode};
use std::time::Instant;

use _core::symbol_book::SymbolBook;
use _core::synthetic::binance_stream;
use common::{binance_capture, venue_streams, Payloads};

/// Fewer events than `core.rs` (20,000): callgrind runs about 50× slower than native.
const EVENTS: usize = 4_000;

/// The counted region: every diff of the stream, decoded and applied.
#[inline(never)]
fn replay(book: &mut SymbolBook, events: &Payloads) {
    for event in events.iter() {
        std::hint::black_box(book.apply(event).unwrap());
    }
}

fn child(venue: &str) {
    let (snapshot, events) = binance_stream(EVENTS, 1000, 6, 1);
    let stream = venue_streams(&snapshot, &events)
        .into_iter()
        .chain([binance_capture()])
        .find(|s| s.name == venue)
        .expect("a venue of venue_streams or the capture");
    let mut book = stream.start();
    replay(&mut book, &stream.events);
    assert!(book.is_synced(), "{venue}");
}

fn count(venue: &str) -> Result<u64, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new("valgrind")
        .args([
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            "--toggle-collect=*decode_instructions::replay*",
        ])
        .arg(exe)
        .args(["--child", venue])
        .output()
        .map_err(|e| format!("valgrind did not start ({e}); install it (apt install valgrind)"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    stderr
        .lines()
        .find_map(|line| line.split("Collected : ").nth(1))
        .and_then(|n| n.trim().parse().ok())
        .filter(|_| out.status.success())
        .ok_or_else(|| format!("no callgrind total for {venue}: {stderr}"))
}

/// Fastest and median wall time of `rounds` replays of each venue's stream, per event and level.
fn wall(rounds: usize) {
    let (snapshot, events) = binance_stream(EVENTS, 1000, 6, 1);
    let levels = Payloads::new(&events).levels() as f64;
    println!("decode + apply, synthetic stream, {EVENTS} diffs, {levels} levels, {rounds} rounds (wall):");
    for stream in venue_streams(&snapshot, &events)
        .into_iter()
        .chain([binance_capture()])
    {
        let (events, levels) = (stream.events.len() as f64, stream.events.levels() as f64);
        let mut times: Vec<f64> = (0..rounds)
            .map(|_| {
                let mut book = stream.start();
                let start = Instant::now();
                replay(&mut book, &stream.events);
                start.elapsed().as_secs_f64() * 1e9
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let (fastest, median) = (times[0], times[rounds / 2]);
        println!(
            "  {:<15} fastest {:>6.1} ns per event, {:>5.1} per level; median {:>6.1} / {:>5.1}",
            stream.name,
            fastest / events,
            fastest / levels,
            median / events,
            median / levels
        );
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--child") {
        child(&args[at + 1]);
        return ExitCode::SUCCESS;
    }
    if let Some(at) = args.iter().position(|a| a == "--wall") {
        let rounds = args.get(at + 1).and_then(|r| r.parse().ok()).unwrap_or(300);
        wall(rounds.max(1));
        return ExitCode::SUCCESS;
    }
    let (_, events) = binance_stream(EVENTS, 1000, 6, 1);
    let levels = Payloads::new(&events).levels() as f64;
    println!("decode + apply, synthetic stream, {EVENTS} diffs, {levels} levels (callgrind):");
    for venue in ["binance_spot", "bybit_spot", "okx"] {
        match count(venue) {
            Ok(total) => println!(
                "  {venue:<13} {:>7.0} instructions per event, {:>5.0} per level",
                total as f64 / EVENTS as f64,
                total as f64 / levels
            ),
            Err(why) => {
                eprintln!("{why}");
                return ExitCode::FAILURE;
            }
        }
    }
    let capture = binance_capture();
    let (events, levels) = (capture.events.len(), capture.events.levels());
    match count(capture.name) {
        Ok(total) => println!(
            "real capture, Binance spot FTMUSDT, {events} diffs, {levels} levels:\n  {:<13} {:>7.0} instructions per event, {:>5.0} per level",
            capture.name,
            total as f64 / events as f64,
            total as f64 / levels as f64
        ),
        Err(why) => {
            eprintln!("{why}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
