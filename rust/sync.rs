//! Per-symbol sequencing rules (docs/exchange-protocols.md §1.4, §2, §3.2, §4): decides, from
//! update ids alone, whether a diff applies, is stale, or reveals a gap. No book in here.

/// Which venue's continuity rule to enforce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// `U <= local+1 <= u`; stale when `u <= local` (the corrected 2025-11 first-event rule).
    BinanceSpot,
    /// First event `U <= lid <= u` (drop `u < lid`), then `pu == previous u`.
    BinanceFutures,
    /// `u == previous u + 1`; every snapshot resets.
    Bybit,
    /// `prevSeqId == previous seqId` (heartbeats and sequence resets included); after a REST
    /// snapshot the first update needs `prevSeqId <= seqId(snapshot) < seqId`.
    Okx,
}

/// Ids carried by one diff.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ids {
    pub first: i64,
    pub last: i64,
    pub prev: Option<i64>,
}

/// What to do with a diff.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Apply,
    Stale,
    Gap,
    /// Not synced: keep it for the next snapshot.
    Buffer,
}

/// Sync state of one symbol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sequencer {
    pub rule: Rule,
    synced: bool,
    /// Id of the last state applied (`None` when the venue sends no ids, e.g. 2022 OKX data).
    last_id: Option<i64>,
    /// The next diff is the first after a snapshot (futures and OKX have a special rule).
    awaiting_first: bool,
}

impl Sequencer {
    pub fn new(rule: Rule) -> Self {
        Sequencer {
            rule,
            synced: false,
            last_id: None,
            awaiting_first: false,
        }
    }

    #[inline]
    pub fn is_synced(&self) -> bool {
        self.synced
    }

    #[inline]
    pub fn last_id(&self) -> Option<i64> {
        self.last_id
    }

    /// Synced at a snapshot's id.
    pub fn sync_at(&mut self, snapshot_id: Option<i64>) {
        self.synced = true;
        self.last_id = snapshot_id;
        self.awaiting_first = true;
    }

    pub fn lose_sync(&mut self) {
        self.synced = false;
        self.awaiting_first = false;
    }

    /// Records that a diff (or an in-place snapshot) with these ids was applied.
    #[inline]
    pub fn advance(&mut self, last: Option<i64>) {
        if last.is_some() {
            self.last_id = last;
        }
        self.awaiting_first = false;
    }

    /// Whether a snapshot carrying `id` replaces the current state or is older than it. Only
    /// Binance partial-depth snapshots can be stale; Bybit and OKX snapshots always reset
    /// (a restart may move ids backwards).
    pub fn snapshot_is_stale(&self, id: Option<i64>) -> bool {
        matches!(self.rule, Rule::BinanceSpot | Rule::BinanceFutures)
            && self.synced
            && matches!((id, self.last_id), (Some(id), Some(last)) if id < last)
    }

    /// The verdict for a diff with `ids` (`None` when the venue sent no ids).
    #[inline]
    pub fn check(&self, ids: Option<Ids>) -> Verdict {
        if !self.synced {
            return Verdict::Buffer;
        }
        let (Some(ids), Some(last)) = (ids, self.last_id) else {
            // No ids to check (OKX before seqId existed): the checksum is the only guard.
            return Verdict::Apply;
        };
        match self.rule {
            Rule::BinanceSpot => {
                if ids.last <= last {
                    Verdict::Stale
                } else if ids.first > last + 1 {
                    Verdict::Gap
                } else {
                    Verdict::Apply
                }
            }
            Rule::BinanceFutures => {
                if self.awaiting_first {
                    if ids.last < last {
                        Verdict::Stale
                    } else if ids.first <= last {
                        Verdict::Apply
                    } else {
                        Verdict::Gap
                    }
                } else if ids.prev == Some(last) {
                    Verdict::Apply
                } else if ids.last <= last {
                    Verdict::Stale
                } else {
                    Verdict::Gap
                }
            }
            Rule::Bybit => {
                if ids.last <= last {
                    Verdict::Stale
                } else if ids.last == last + 1 {
                    Verdict::Apply
                } else {
                    Verdict::Gap
                }
            }
            Rule::Okx => {
                let Some(prev) = ids.prev else {
                    return Verdict::Apply;
                };
                if self.awaiting_first {
                    if ids.last <= last && prev != last {
                        Verdict::Stale
                    } else if prev <= last {
                        Verdict::Apply
                    } else {
                        Verdict::Gap
                    }
                } else if prev == last {
                    Verdict::Apply
                } else if prev < last {
                    Verdict::Stale
                } else {
                    Verdict::Gap
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(first: i64, last: i64, prev: Option<i64>) -> Option<Ids> {
        Some(Ids { first, last, prev })
    }

    fn synced(rule: Rule, at: i64) -> Sequencer {
        let mut s = Sequencer::new(rule);
        s.sync_at(Some(at));
        s
    }

    #[test]
    fn unsynced_buffers() {
        assert_eq!(
            Sequencer::new(Rule::BinanceSpot).check(ids(1, 2, None)),
            Verdict::Buffer
        );
    }

    #[test]
    fn binance_spot_first_event_is_u_le_lid_plus_one_le_u() {
        let s = synced(Rule::BinanceSpot, 100);
        assert_eq!(s.check(ids(90, 100, None)), Verdict::Stale);
        // The snapshot id equal to an earlier event's u: the next event starts at lid + 1.
        assert_eq!(s.check(ids(101, 105, None)), Verdict::Apply);
        // The snapshot id strictly inside an event's range.
        assert_eq!(s.check(ids(95, 105, None)), Verdict::Apply);
        assert_eq!(s.check(ids(102, 105, None)), Verdict::Gap);
    }

    #[test]
    fn binance_futures_uses_pu_after_the_first_event() {
        let mut s = synced(Rule::BinanceFutures, 100);
        assert_eq!(s.check(ids(80, 99, Some(70))), Verdict::Stale);
        // u == lastUpdateId is kept (strict drop rule).
        assert_eq!(s.check(ids(90, 100, Some(80))), Verdict::Apply);
        assert_eq!(s.check(ids(101, 110, Some(100))), Verdict::Gap);
        s.advance(Some(100));
        // Ids are shared across symbols: U != prev.u + 1 is normal, pu decides.
        assert_eq!(s.check(ids(150, 160, Some(100))), Verdict::Apply);
        assert_eq!(s.check(ids(150, 160, Some(120))), Verdict::Gap);
        assert_eq!(s.check(ids(90, 100, Some(80))), Verdict::Stale);
    }

    #[test]
    fn bybit_needs_u_plus_one() {
        let s = synced(Rule::Bybit, 10);
        assert_eq!(s.check(ids(10, 10, None)), Verdict::Stale);
        assert_eq!(s.check(ids(11, 11, None)), Verdict::Apply);
        assert_eq!(s.check(ids(12, 12, None)), Verdict::Gap);
    }

    #[test]
    fn okx_chains_prev_seq_id_through_heartbeats_and_resets() {
        let mut s = synced(Rule::Okx, 500);
        s.advance(Some(500));
        assert_eq!(s.check(ids(520, 520, Some(500))), Verdict::Apply);
        assert_eq!(
            s.check(ids(500, 500, Some(500))),
            Verdict::Apply,
            "heartbeat"
        );
        assert_eq!(
            s.check(ids(3, 3, Some(500))),
            Verdict::Apply,
            "sequence reset"
        );
        assert_eq!(s.check(ids(530, 530, Some(510))), Verdict::Gap);
        assert_eq!(s.check(ids(490, 490, Some(480))), Verdict::Stale);
        assert_eq!(s.check(None), Verdict::Apply, "no ids: checksum only");
    }

    #[test]
    fn okx_first_update_after_rest_snapshot() {
        let s = synced(Rule::Okx, 500);
        assert_eq!(s.check(ids(450, 450, Some(440))), Verdict::Stale);
        assert_eq!(s.check(ids(510, 510, Some(490))), Verdict::Apply);
        assert_eq!(s.check(ids(510, 510, Some(505))), Verdict::Gap);
    }

    #[test]
    fn only_binance_snapshots_can_be_stale() {
        let s = synced(Rule::BinanceSpot, 100);
        assert!(s.snapshot_is_stale(Some(99)));
        assert!(!s.snapshot_is_stale(Some(100)));
        assert!(!synced(Rule::Bybit, 100).snapshot_is_stale(Some(1)));
    }
}
