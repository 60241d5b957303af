use super::*;

fn run(format: Format, text: &str) -> (Result<Kind, DecodeError>, Scratch) {
    let mut scratch = Scratch::default();
    let kind = decode(format, text.as_bytes(), &mut scratch).map(|d| d.kind);
    (kind, scratch)
}

#[test]
fn binance_message_kinds() {
    let diff = r#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":5,"u":7,"b":[["1.5","2"]],"a":[]}}"#;
    let mut scratch = Scratch::default();
    let d = decode(Format::Binance, diff.as_bytes(), &mut scratch).unwrap();
    assert_eq!(
        (d.kind, d.symbol, d.first_id, d.last_id),
        (Kind::Diff, "BTCUSDT", Some(5), Some(7))
    );
    assert_eq!(scratch.bids.len(), 1);
    let ticker = r#"{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}"#;
    assert_eq!(run(Format::Binance, ticker).0, Ok(Kind::Ticker));
    let agg = r#"{"e":"aggTrade","E":1,"s":"BNBBTC","a":12345,"p":"0.001","q":"100","f":100,"l":105,"T":1,"m":true,"M":true}"#;
    let (kind, scratch) = run(Format::Binance, agg);
    assert_eq!(kind, Ok(Kind::Trade));
    assert!(!scratch.trades[0].buyer_aggressor);
    let partial = r#"{"stream":"btcusdt@depth20@100ms","data":{"lastUpdateId":160,"bids":[["0.0024","10"]],"asks":[["0.0026","100"]]}}"#;
    let mut scratch = Scratch::default();
    let d = decode(Format::Binance, partial.as_bytes(), &mut scratch).unwrap();
    assert_eq!(
        (d.kind, d.symbol, d.last_id),
        (Kind::Snapshot, "btcusdt", Some(160))
    );
    assert_eq!(
        run(Format::Binance, r#"{"result":null,"id":1}"#).0,
        Ok(Kind::Other)
    );
    assert_eq!(
        run(Format::Binance, r#"{"e":"serverShutdown","E":1}"#).0,
        Ok(Kind::Other)
    );
}

#[test]
fn errors_clear_the_scratch() {
    let (kind, scratch) = run(
        Format::Binance,
        r#"{"e":"depthUpdate","s":"X","U":1,"u":1,"b":[["1","1"]],"a":[["x","1"]]}"#,
    );
    assert!(kind.unwrap_err().message.contains("a[0].price"));
    assert!(scratch.bids.is_empty());
}

#[test]
fn okx_text_pong_and_events_are_other() {
    assert_eq!(run(Format::Okx, "pong").0, Ok(Kind::Other));
    assert_eq!(
        run(
            Format::Okx,
            r#"{"event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT"}}"#
        )
        .0,
        Ok(Kind::Other)
    );
    let err = run(Format::Okx, r#"{"arg":{"channel":"books","instId":"A"},"action":"update","data":[{"bids":[],"asks":[]},{"bids":[],"asks":[]}]}"#).0;
    assert!(err.unwrap_err().message.contains("2 books"));
}

/// Found by the fuzzer (`fuzz/`, okx target): a trades element without `px`, `sz` or `side` was
/// skipped, so the message decoded as a trade message holding no trade and the trade was lost
/// without a word (Bybit and Binance refuse a trade with a missing field).
#[test]
fn okx_trade_missing_a_field_is_refused_naming_it() {
    let trade = r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"1","px":"5.1","sz":"1","side":"sell","ts":"1"},{"instId":"BTC-USDT","tradeId":"2","px":"5.2","side":"buy","ts":"2"}]}"#;
    let (kind, scratch) = run(Format::Okx, trade);
    let err = kind.unwrap_err();
    assert_eq!(err.kind, ErrorKind::MissingField);
    assert_eq!(err.message, "trades: field data[1].sz: missing");
    assert!(scratch.trades.is_empty());
    // The channel may come after the data.
    let late =
        r#"{"data":[{"px":"5.1","sz":"1","ts":"1"}],"arg":{"channel":"trades","instId":"X"}}"#;
    assert_eq!(
        run(Format::Okx, late).0.unwrap_err().message,
        "trades: field data[0].side: missing"
    );
    let whole = trade.replace(r#""px":"5.2","side""#, r#""px":"5.2","sz":"2","side""#);
    let (kind, scratch) = run(Format::Okx, &whole);
    assert_eq!(kind, Ok(Kind::Trade));
    assert_eq!(scratch.trades.len(), 2);
}

/// Found by the fuzzer (okx target): a trades message without `data` (or with an empty one)
/// decoded as a trade message holding no trade; like a book message without its book, it is
/// refused. The same holds for Bybit's publicTrade.
#[test]
fn a_trade_message_without_trades_is_refused() {
    for (format, text) in [
        (
            Format::Okx,
            r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"dUIData":[{"px":"1","sz":"1","side":"buy"}]}"#,
        ),
        (
            Format::Okx,
            r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[]}"#,
        ),
        (
            Format::Bybit,
            r#"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[]}"#,
        ),
        (
            Format::Bybit,
            r#"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1}"#,
        ),
    ] {
        let err = run(format, text).0.unwrap_err();
        assert_eq!(err.kind, ErrorKind::MissingField, "{text}");
        assert!(
            err.message.ends_with("field data holds no trade"),
            "{}",
            err.message
        );
    }
}

#[test]
fn bybit_key_order_does_not_matter() {
    let a = r#"{"data":{"u":3,"b":[["1","2"]],"a":[],"s":"BTCUSDT"},"type":"delta","topic":"orderbook.50.BTCUSDT","ts":5}"#;
    let mut scratch = Scratch::default();
    let d = decode(Format::Bybit, a.as_bytes(), &mut scratch).unwrap();
    assert_eq!(
        (d.kind, d.symbol, d.last_id),
        (Kind::Diff, "BTCUSDT", Some(3))
    );
}

mod fast_path {
    use super::super::{binance, fast, Scratch};
    use proptest::prelude::*;

    const VALID: &str = r#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1700000000000,"s":"BTCUSDT","U":157,"u":160,"pu":149,"b":[["0.0024","10"],["0.0023","0.00000000"]],"a":[["0.0026","100"]]}}"#;

    /// What the fast path gave (debug text, bids, asks) and what the general decoder gave.
    type Outcomes = (
        Option<(String, Vec<super::RawLevel>, Vec<super::RawLevel>)>,
        Result<String, ()>,
    );

    fn both(payload: &[u8]) -> Outcomes {
        let mut fast_scratch = Scratch::default();
        let fast = fast::binance_depth(payload, &mut fast_scratch).map(|d| {
            (
                format!("{d:?}"),
                fast_scratch.bids.clone(),
                fast_scratch.asks.clone(),
            )
        });
        let mut scratch = Scratch::default();
        let general = binance::decode(payload, &mut scratch)
            .map(|d| format!("{d:?}"))
            .map_err(|_| ());
        if let (Some((_, bids, asks)), Ok(_)) = (&fast, &general) {
            assert_eq!((bids, asks), (&scratch.bids, &scratch.asks));
        }
        (fast, general)
    }

    #[test]
    fn valid_payloads_take_the_fast_path_with_the_same_result() {
        for payload in [
            VALID.to_owned(),
            VALID.replace(" ", ""),
            format!("  {VALID}\n"),
        ] {
            let (fast, general) = both(payload.as_bytes());
            assert_eq!(fast.expect("fast path").0, general.unwrap());
        }
    }

    /// Raw spot and futures diffs and the combined-stream envelope, in Binance's key order.
    const IN_ORDER: [&str; 3] = [
        VALID,
        r#"{"e":"depthUpdate","E":1700000000000,"s":"BTCUSDT","U":157,"u":160,"b":[["0.0024","10"]],"a":[]}"#,
        r#"{"e":"depthUpdate","E":1700000000000,"T":1700000000001,"s":"BTCUSDT","U":157,"u":160,"pu":149,"b":[],"a":[["0.0026","100"]]}"#,
    ];

    #[test]
    fn payloads_in_binance_key_order_take_the_in_order_path_with_the_same_result() {
        for payload in IN_ORDER {
            let mut scratch = Scratch::default();
            let decoded = fast::in_order(payload.as_bytes(), &mut scratch).expect("in order");
            let (fast, general) = both(payload.as_bytes());
            assert_eq!(format!("{decoded:?}"), general.unwrap());
            let (_, bids, asks) = fast.unwrap();
            assert_eq!((bids, asks), (scratch.bids, scratch.asks));
        }
        // Another key order, or whitespace between the parts: the key-by-key path reads it.
        for payload in [
            IN_ORDER[1].replace(r#""U":157,"u":160"#, r#""u":160,"U":157"#),
            IN_ORDER[1].replace(r#","s":"#, r#", "s":"#),
            IN_ORDER[1].replace("]}", "] }"),
        ] {
            let mut scratch = Scratch::default();
            assert!(fast::in_order(payload.as_bytes(), &mut scratch).is_none());
            let (fast, general) = both(payload.as_bytes());
            assert_eq!(fast.expect("key-by-key path").0, general.unwrap());
        }
    }

    #[test]
    fn invalid_utf8_in_a_skipped_string_is_left_to_the_general_decoder() {
        // Found by the property below: the fast path once skipped the stream name unvalidated.
        let mut bytes = VALID.as_bytes().to_vec();
        bytes[11] = 0x80;
        let (fast, general) = both(&bytes);
        assert!(fast.is_none());
        assert!(general.is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20000))]
        /// Whatever the fast path accepts, the general decoder accepts identically.
        #[test]
        fn fast_path_never_accepts_what_the_general_decoder_refuses(
            base in prop::sample::select(&IN_ORDER[..]),
            edits in prop::collection::vec((0usize..VALID.len(), any::<u8>()), 1..4),
            cut in 1usize..=VALID.len(),
        ) {
            let mut bytes = base.as_bytes()[..cut.min(base.len())].to_vec();
            for (at, byte) in edits {
                if at < bytes.len() {
                    bytes[at] = byte;
                }
            }
            let (fast, general) = both(&bytes);
            if let Some((decoded, _, _)) = fast {
                prop_assert_eq!(Ok(decoded), general);
            }
        }
    }
}

/// The fast path and the general decoder agree: whatever the fast path accepts, the general
/// decoder accepts with the same message and levels (the fast path may only defer).
mod fast_path_differential {
    use super::*;
    use proptest::prelude::*;

    const VALID: [&str; 5] = [
        r#"{"e":"depthUpdate","E":1,"s":"X","U":1,"u":2,"b":[["1","2",3,45,6.5,0],["2","1",7e2,-1]],"a":[["3","1",88,9]]}"#,
        r#"{"e":"depthUpdate","E":1700000000000,"s":"BTCUSDT","U":157,"u":160,"b":[["0.0024","10"],["0.0023","0"]],"a":[["0.0026","100"]]}"#,
        r#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"T":2,"s":"BTCUSDT","U":5,"u":7,"pu":4,"b":[["1.5","2"]],"a":[]}}"#,
        r#"{"stream":"ethusdt@depth","data":{"e":"depthUpdate","E":1,"s":"ETHUSDT","U":5,"u":7,"b":[["1.5","2",3]],"a":[["2","1","x"]]}}"#,
        r#" { "e" : "depthUpdate" , "E" : 1 , "s" : "X" , "U" : -1 , "u" : 0 , "b" : [ [ "1" , "2" ] ] , "a" : [ ] } "#,
    ];

    const BYTES: &[u8] = b"-+.eE0123456789,:[]{}\" xa\\";

    #[derive(Clone, Debug)]
    pub(super) enum Edit {
        Replace(usize, u8),
        Insert(usize, u8),
        Delete(usize),
    }

    pub(super) fn edit() -> impl Strategy<Value = Edit> {
        let byte = prop::sample::select(BYTES);
        prop_oneof![
            (any::<usize>(), byte.clone()).prop_map(|(i, b)| Edit::Replace(i, b)),
            (any::<usize>(), byte).prop_map(|(i, b)| Edit::Insert(i, b)),
            any::<usize>().prop_map(Edit::Delete),
        ]
    }

    pub(super) fn mutate(text: &str, edits: &[Edit]) -> Vec<u8> {
        let mut bytes = text.as_bytes().to_vec();
        for e in edits {
            let n = bytes.len().max(1);
            match *e {
                Edit::Replace(i, b) if !bytes.is_empty() => bytes[i % n] = b,
                Edit::Insert(i, b) => bytes.insert(i % (n + 1), b),
                Edit::Delete(i) if !bytes.is_empty() => {
                    bytes.remove(i % n);
                }
                _ => {}
            }
        }
        bytes
    }

    fn agree(payload: &[u8]) -> Result<(), TestCaseError> {
        super::venue_fast_paths::agree(fast::binance_depth, binance::decode, payload).map(|_| ())
    }

    #[test]
    fn the_invalid_trailing_number_is_refused_by_both() {
        let payload =
            br#"{"e":"depthUpdate","E":1,"s":"X","U":1,"u":2,"b":[["1","2",1-2]],"a":[]}"#;
        assert!(fast::binance_depth(payload, &mut Scratch::default()).is_none());
        assert!(binance::decode(payload, &mut Scratch::default()).is_err());
        for ok in [&b"1"[..], b"-0", b"1.5e-3", b"0.25", b"12E+2"] {
            let text = format!(
                r#"{{"e":"depthUpdate","E":1,"s":"X","U":1,"u":2,"b":[["1","2",{}]],"a":[]}}"#,
                String::from_utf8_lossy(ok)
            );
            assert!(fast::binance_depth(text.as_bytes(), &mut Scratch::default()).is_some());
        }
        for bad in [&b"01"[..], b"1.", b"-", b"1e", b"+1", b".5", b"1-2", b"1e+"] {
            let text = format!(
                r#"{{"e":"depthUpdate","E":1,"s":"X","U":1,"u":2,"b":[["1","2",{}]],"a":[]}}"#,
                String::from_utf8_lossy(bad)
            );
            assert!(
                fast::binance_depth(text.as_bytes(), &mut Scratch::default()).is_none(),
                "{text}"
            );
        }
    }

    /// Found by the property below: an unterminated string as an extra element was half
    /// consumed, and the number after its quote accepted.
    #[test]
    fn an_unterminated_extra_string_is_refused_by_both() {
        let payload =
            br#"{"e":"depthUpdate","E":1,"s":"X","U":1,"u":2,"b":[],"a":[["3","1","88,9]]}"#;
        assert!(fast::binance_depth(payload, &mut Scratch::default()).is_none());
        assert!(binance::decode(payload, &mut Scratch::default()).is_err());
        // And `-0` as an id, which serde_json reads as a float.
        let payload = br#"{"e":"depthUpdate","E":1,"s":"X","U":1,"u":-0,"b":[],"a":[]}"#;
        assert!(fast::binance_depth(payload, &mut Scratch::default()).is_none());
        assert!(binance::decode(payload, &mut Scratch::default()).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        #[test]
        fn fast_path_accepts_nothing_the_general_decoder_refuses(
            which in 0usize..VALID.len(),
            edits in prop::collection::vec(edit(), 1..4),
        ) {
            agree(VALID[which].as_bytes())?;
            agree(&mutate(VALID[which], &edits))?;
        }
    }
}

/// The Bybit and OKX fast paths against their general decoders, as for Binance above: whatever a
/// fast path accepts, the general decoder accepts with the same message and levels; and every
/// book message of the real captures takes the fast path.
mod venue_fast_paths {
    use super::super::{binance, bybit, fast, fast_bybit, fast_okx, okx};
    use super::fast_path_differential::{edit, mutate};
    use super::*;
    use proptest::prelude::*;

    type Fast = for<'a> fn(&'a [u8], &mut Scratch) -> Option<Decoded<'a>>;
    type General = for<'a> fn(&'a [u8], &mut Scratch) -> Result<Decoded<'a>, DecodeError>;

    const BYBIT: [&str; 6] = [
        r#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1703430557696,"data":{"s":"BTCUSDT","b":[["43732.01","0.049391"],["43731.97","0"]],"a":[["43733","1.5"]],"u":72212457,"seq":112603120278},"cts":1786613159748}"#,
        r#"{"topic":"orderbook.200.BTCUSDT","ts":1703430557696,"type":"snapshot","data":{"s":"BTCUSDT","b":[["43732.01","0.049391"]],"a":[["43733","1.5"],["43734","0"]],"u":1,"seq":112603120278}}"#,
        r#"{"topic":"orderbook.1.BTCUSDT","ts":1,"type":"snapshot","data":{"s":"BTCUSDT","b":[["1","2"]],"a":[],"u":"7"}}"#,
        r#"{"data":{"u":1,"b":[],"a":[["3","4"]]},"type":"delta","topic":"orderbook.200.ETHUSDT","ts":"5"}"#,
        r#"{"topic":"orderbook.500.XRPUSDT","type":"delta","ts":2,"data":{"s":"","b":[["1.9531","6198"]],"a":[],"u":20254870,"seq":-3},"x":1.5e3}"#,
        r#" { "topic" : "orderbook.50.X" , "type" : "delta" , "data" : { "s" : "X" , "u" : 9 , "b" : [ [ "1" , "2" ] ] , "a" : [ ] } } "#,
    ];

    const OKX: [&str; 6] = [
        r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["30243.5","1.44679","0","6"]],"bids":[["30240","0","0","0"]],"ts":"1646003667640","checksum":-980833328,"prevSeqId":122,"seqId":123}]}"#,
        r#"{"arg":{"channel":"books-l2-tbt","instId":"BTC-USDT"},"action":"snapshot","data":[{"asks":[],"bids":[["30240","2","0","1"]],"ts":"1646003667640","prevSeqId":-1,"seqId":5}]}"#,
        r#"{"arg":{"channel":"books-l2-tbt","instId":"ETH-USD-220624-20000-C"},"action":"snapshot","data":[{"asks":[["0.0025","20","0","1"]],"bids":[],"ts":"1646003667339","checksum":1483419732,"prevSeqId":-1,"seqId":5}]}"#,
        r#"{"arg":{"channel":"books5","instId":"BTC-USDT"},"data":[{"asks":[["2","1","0","1"]],"bids":[["1","1","0","1"]],"instId":"BTC-USDT","ts":"1","seqId":7}]}"#,
        r#"{"arg":{"channel":"bbo-tbt","instId":"X-Y","uid":"77"},"data":[{"asks":[["2","1","0","1"]],"bids":[["1","1","0","1"]],"ts":3,"checksum":"12","seqId":"8"}]}"#,
        r#" { "arg" : { "channel" : "books" , "instId" : "A" } , "action" : "update" , "data" : [ { "bids" : [ [ "1" , "2" , "0" , "1" ] ] , "asks" : [ ] , "ts" : "1" } ] } "#,
    ];

    /// `false` when the fast path deferred; otherwise checks the general decoder agrees.
    pub(super) fn agree(
        fast: Fast,
        general: General,
        payload: &[u8],
    ) -> Result<bool, TestCaseError> {
        let mut fast_scratch = Scratch::default();
        let Some(fast) = fast(payload, &mut fast_scratch) else {
            return Ok(false);
        };
        let mut scratch = Scratch::default();
        let general = general(payload, &mut scratch);
        prop_assert_eq!(
            general.as_ref().ok(),
            Some(&fast),
            "fast path accepted what the general decoder made {:?}: {}",
            general,
            String::from_utf8_lossy(payload)
        );
        prop_assert_eq!(&scratch.bids, &fast_scratch.bids);
        prop_assert_eq!(&scratch.asks, &fast_scratch.asks);
        Ok(true)
    }

    const BYBIT_PATHS: (Fast, General) = (fast_bybit::bybit_book, bybit::decode);
    const OKX_PATHS: (Fast, General) = (fast_okx::okx_book, okx::decode);
    const BINANCE_PATHS: (Fast, General) = (fast::binance_depth, binance::decode);

    #[test]
    fn valid_payloads_take_the_fast_paths() {
        for (payloads, (fast, general)) in [(BYBIT, BYBIT_PATHS), (OKX, OKX_PATHS)] {
            for payload in payloads {
                assert!(
                    agree(fast, general, payload.as_bytes()).unwrap(),
                    "{payload}"
                );
            }
        }
    }

    #[test]
    fn what_the_general_decoders_type_or_refuse_is_left_to_them() {
        let deferred: [(&str, (Fast, General)); 9] = [
            // Invalid UTF-8 in a skipped string: the general decoder refuses it.
            (
                "{\"topic\":\"orderbook.1.X\",\"type\":\"delta\",\"x\":\"\u{80}\",\"data\":{\"u\":2,\"b\":[],\"a\":[]}}",
                BYBIT_PATHS,
            ),
            // A trade field in a book element is a string to the general decoder.
            (
                r#"{"arg":{"channel":"books","instId":"A"},"data":[{"bids":[],"asks":[],"px":5}]}"#,
                OKX_PATHS,
            ),
            // Two books, an event, a REST body, an out-of-range checksum.
            (
                r#"{"arg":{"channel":"books","instId":"A"},"action":"update","data":[{"bids":[],"asks":[]},{"bids":[],"asks":[]}]}"#,
                OKX_PATHS,
            ),
            (
                r#"{"event":"subscribe","arg":{"channel":"books","instId":"A"}}"#,
                OKX_PATHS,
            ),
            (
                r#"{"code":"0","msg":"","data":[{"asks":[],"bids":[],"ts":"1"}]}"#,
                OKX_PATHS,
            ),
            (
                r#"{"arg":{"channel":"books","instId":"A"},"action":"update","data":[{"bids":[],"asks":[],"checksum":4294967296}]}"#,
                OKX_PATHS,
            ),
            // An unknown type, a missing id, a trade topic.
            (
                r#"{"topic":"orderbook.1.X","type":"partial","data":{"u":2,"b":[],"a":[]}}"#,
                BYBIT_PATHS,
            ),
            (
                r#"{"topic":"orderbook.1.X","type":"delta","data":{"b":[],"a":[]}}"#,
                BYBIT_PATHS,
            ),
            (
                r#"{"topic":"publicTrade.X","type":"snapshot","data":[]}"#,
                BYBIT_PATHS,
            ),
        ];
        for (payload, (fast, _)) in deferred {
            assert!(
                fast(payload.as_bytes(), &mut Scratch::default()).is_none(),
                "{payload}"
            );
        }
    }

    /// The end of an OKX level: the two one-character counts read at once (any byte of
    /// `0x30..=0x3F`), every other shape one element at a time, with the same levels and the
    /// same refusals as the general decoder.
    #[test]
    fn okx_level_ends_agree_with_the_general_decoder() {
        let message = |level_end: &str| {
            format!(
                r#"{{"arg":{{"channel":"books","instId":"A"}},"action":"update","data":[{{"asks":[["2","1"{level_end},["3","4","0","1"]],"bids":[],"ts":"1","seqId":2}}]}}"#
            )
        };
        let accepted = [
            "]",
            r#","0","1"]"#,
            r#","?",":"]"#,
            r#","0","13"]"#,
            r#","10","1"]"#,
            r#","0","1","2"]"#,
            r#","0","1",5]"#,
            r#","a","b"]"#,
            r#","",""]"#,
            r#", "0","1"]"#,
            // Just outside 0x30..=0x3F: plain bytes, read one element at a time.
            r#","/","@"]"#,
        ];
        for end in accepted {
            let payload = message(end);
            assert!(
                agree(OKX_PATHS.0, OKX_PATHS.1, payload.as_bytes()).unwrap(),
                "{payload}"
            );
            let mut scratch = Scratch::default();
            fast_okx::okx_book(payload.as_bytes(), &mut scratch).unwrap();
            assert_eq!(scratch.asks.len(), 2, "{payload}");
        }
        // A missing bracket, a stray quote, an escape (the level scanner, which both paths use,
        // reads no escapes), a wrong bracket: refused by both.
        for end in [
            r#","0","1""#,
            r#","0",""","#,
            r#","0","\\"]"#,
            r#","0","1"}"#,
            r#","0","1"]]"#,
        ] {
            let payload = message(end);
            assert!(
                fast_okx::okx_book(payload.as_bytes(), &mut Scratch::default()).is_none(),
                "{payload}"
            );
            assert!(
                okx::decode(payload.as_bytes(), &mut Scratch::default()).is_err(),
                "{payload}"
            );
        }
    }

    fn samples(dir: &str) -> Vec<String> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/samples");
        let mut lines = Vec::new();
        let mut pending = vec![root.join(dir)];
        while let Some(path) = pending.pop() {
            if path.is_dir() {
                pending.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            } else if path.extension().is_some_and(|e| e == "jsonl") {
                let text = std::fs::read_to_string(&path).unwrap();
                lines.extend(text.lines().map(str::to_owned));
            }
        }
        lines
    }

    /// Every diff (Binance) and every book message (Bybit, OKX) of the real captures is decoded
    /// by the fast path, identically to the general decoder.
    #[test]
    fn real_capture_book_messages_all_take_the_fast_path() {
        for (dir, (fast, general), kinds) in [
            ("binance", BINANCE_PATHS, &[Kind::Diff][..]),
            ("bybit", BYBIT_PATHS, &[Kind::Diff, Kind::Snapshot][..]),
            ("okx", OKX_PATHS, &[Kind::Diff, Kind::Snapshot][..]),
        ] {
            let mut taken = 0;
            for line in samples(dir) {
                let payload = line.trim().as_bytes();
                let book = general(payload, &mut Scratch::default()).is_ok_and(|d| {
                    kinds.contains(&d.kind) && line.contains("depthUpdate") | (dir != "binance")
                });
                if book {
                    assert!(agree(fast, general, payload).unwrap(), "{dir}: {line:.200}");
                    taken += 1;
                }
            }
            assert!(taken > 40, "{dir}: only {taken} book messages found");
        }
    }

    /// The messages in each venue's key order take its in-order path, with the result of the
    /// key-by-key path; so does every book message of the real captures (Binance: every diff).
    #[test]
    fn venue_key_order_takes_the_in_order_paths() {
        type InOrder = for<'a> fn(&'a [u8], &mut Scratch) -> Option<Decoded<'a>>;
        /// Capture directory, in-order path, key-by-key and general paths, canonical payloads.
        type Venue = (
            &'static str,
            InOrder,
            (Fast, General),
            &'static [&'static str],
        );
        let paths: [Venue; 3] = [
            ("binance", fast::in_order, BINANCE_PATHS, &[]),
            ("bybit", fast_bybit::in_order, BYBIT_PATHS, &BYBIT[..2]),
            ("okx", fast_okx::in_order, OKX_PATHS, &OKX[..2]),
        ];
        for (dir, in_order, (fast, general), canonical) in paths {
            let captured = samples(dir).into_iter().filter(|line| {
                general(line.trim().as_bytes(), &mut Scratch::default()).is_ok_and(|d| {
                    matches!(d.kind, Kind::Diff | Kind::Snapshot)
                        && (dir != "binance" || line.contains("depthUpdate"))
                })
            });
            for payload in canonical.iter().map(|p| p.to_string()).chain(captured) {
                let payload = payload.trim().as_bytes();
                let mut scratch = Scratch::default();
                let decoded = in_order(payload, &mut scratch);
                assert!(
                    decoded.is_some(),
                    "{dir}: {:.300}",
                    String::from_utf8_lossy(payload)
                );
                let mut fast_scratch = Scratch::default();
                assert_eq!(decoded, fast(payload, &mut fast_scratch));
                assert_eq!(
                    (&scratch.bids, &scratch.asks),
                    (&fast_scratch.bids, &fast_scratch.asks)
                );
                assert!(agree(fast, general, payload).unwrap());
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        #[test]
        fn bybit_fast_path_accepts_nothing_the_general_decoder_refuses(
            which in 0usize..BYBIT.len(),
            edits in prop::collection::vec(edit(), 1..4),
        ) {
            let (fast, general) = BYBIT_PATHS;
            agree(fast, general, &mutate(BYBIT[which], &edits))?;
        }

        #[test]
        fn okx_fast_path_accepts_nothing_the_general_decoder_refuses(
            which in 0usize..OKX.len(),
            edits in prop::collection::vec(edit(), 1..4),
        ) {
            let (fast, general) = OKX_PATHS;
            agree(fast, general, &mutate(OKX[which], &edits))?;
        }
    }
}
