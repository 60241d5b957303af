//! The synthetic Binance stream (`_core::synthetic::binance_stream`) in each venue's format, for
//! the benches that compare decode + apply across venues (`core.rs`, `decode_instructions.rs`).

use _core::symbol_book::{Config, SymbolBook, Venue};

/// Payloads one after another in one buffer, in stream order, as a websocket receive buffer
/// holds them. Kept as separate `String`s, where they land in the heap depends on each
/// generator's temporaries: a third of the OKX stream's payloads lay below the one before
/// (Binance 8 %, Bybit 0.2 %), an order the hardware prefetchers do not follow, which made the
/// same bytes 11 % slower to replay for OKX and 4–7 % for Binance (`benches/README.md`, fourth
/// round): a per-venue artefact of the bench, not of the decoder.
pub struct Payloads {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Payloads {
    pub fn new(events: &[String]) -> Self {
        let mut bytes = Vec::with_capacity(events.iter().map(String::len).sum());
        let ends = events
            .iter()
            .map(|event| {
                bytes.extend_from_slice(event.as_bytes());
                bytes.len()
            })
            .collect();
        Payloads { bytes, ends }
    }

    /// The payloads in stream order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(&self.ends)
            .map(|(start, &end)| &self.bytes[start..end])
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Price levels: in these streams' diffs (every venue's) each level opens with `["`, and
    /// nothing else does.
    pub fn levels(&self) -> usize {
        self.bytes.windows(2).filter(|w| w == b"[\"").count()
    }
}

/// One venue's copy of the stream: the message that syncs the book, then the diffs.
pub struct VenueStream {
    pub name: &'static str,
    pub venue: Venue,
    symbol: &'static str,
    pub first: String,
    pub events: Payloads,
}

impl VenueStream {
    /// A book synced from the first message, ready for `events`.
    pub fn start(&self) -> SymbolBook {
        let mut book = SymbolBook::new(self.symbol, self.venue, Config::default()).unwrap();
        if self.venue == Venue::BinanceSpot {
            book.apply_snapshot(self.first.as_bytes()).unwrap();
        } else {
            book.apply(self.first.as_bytes()).unwrap();
        }
        book
    }
}

/// Binance spot, Bybit spot and OKX copies of one Binance snapshot and its diffs: the same level
/// changes, so the books they build are identical.
pub fn venue_streams(snapshot: &str, events: &[String]) -> [VenueStream; 3] {
    let (bybit_first, bybit) = bybit_stream(snapshot, events);
    let (okx_first, okx) = okx_stream(snapshot, events);
    [
        VenueStream {
            name: "binance_spot",
            venue: Venue::BinanceSpot,
            symbol: "BTCUSDT",
            first: snapshot.to_owned(),
            events: Payloads::new(events),
        },
        VenueStream {
            name: "bybit_spot",
            venue: Venue::BybitSpot,
            symbol: "BTCUSDT",
            first: bybit_first,
            events: Payloads::new(&bybit),
        },
        VenueStream {
            name: "okx",
            venue: Venue::Okx,
            symbol: "BTC-USDT",
            first: okx_first,
            events: Payloads::new(&okx),
        },
    ]
}

/// A real capture: Binance spot FTMUSDT (`tests/data/samples/binance/spot_cryptofeed_2021-08-14`,
/// 5000-level REST snapshot, then its `depth@100ms` diffs in combined-stream envelopes) from the
/// first diff after the snapshot: 222 events, 974 levels, 4.4 per event.
pub fn binance_capture() -> VenueStream {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/samples/binance/spot_cryptofeed_2021-08-14"
    );
    let read = |name: &str| {
        std::fs::read_to_string(format!("{dir}/{name}")).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let first = read("rest_depth_FTMUSDT_limit5000.json");
    let snapshot_id: u64 = first["{\"lastUpdateId\":".len()..]
        .split(',')
        .next()
        .and_then(|id| id.parse().ok())
        .expect("lastUpdateId first in the snapshot");
    let events = read("stream.jsonl")
        .lines()
        .filter(|line| line.contains("\"e\":\"depthUpdate\"") && line.contains("\"s\":\"FTMUSDT\""))
        .filter(|line| {
            let last = line
                .split("\"u\":")
                .nth(1)
                .and_then(|rest| rest.split(',').next());
            last.and_then(|id| id.parse::<u64>().ok()).expect("u") > snapshot_id
        })
        .map(str::to_owned)
        .collect::<Vec<_>>();
    VenueStream {
        name: "binance_capture",
        venue: Venue::BinanceSpot,
        symbol: "FTMUSDT",
        first,
        events: Payloads::new(&events),
    }
}

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
