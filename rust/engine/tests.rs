use super::*;
use crate::features::FEATURE_NAMES;

#[test]
fn the_columns_read_are_the_named_features() {
    for (column, name) in [
        (BEST_BID, "best_bid"),
        (BEST_ASK, "best_ask"),
        (MID, "mid"),
        (MICROPRICE, "microprice"),
        (IMBALANCE, "imbalance"),
        (OFI_TOTAL, "ofi_total"),
        (VPIN, "vpin"),
        (CROSSED, "crossed"),
        (SYNCED, "synced"),
        (EVENT_TIME_MS, "event_time_ms"),
    ] {
        assert_eq!(FEATURE_NAMES[column], name);
    }
}
