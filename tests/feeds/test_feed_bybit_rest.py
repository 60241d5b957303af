"""Bybit gaps resynced from the REST order book where that is sound, by resubscribing otherwise.

Bybit documents the REST ``u`` as the ``u`` of the 1000-level stream only, and the depth it
names has changed across doc versions; so ``orderbook.1000`` books take the REST path and trust
a REST snapshot only once a diff has chained onto its ``u``; any other depth resubscribes.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from tests.feeds import conftest as feeds

from mmcore.feeds import Feed
from mmcore.testing.fake_exchange import BybitWire

BYBIT = ("bybit-spot", "bybit-linear")


@pytest.fixture(params=BYBIT)
def bybit_case(request: pytest.FixtureRequest) -> feeds.VenueCase:
    """Bybit spot and linear."""
    return feeds.CASES[request.param]


def _resubscribes(fake: BybitWire) -> int:
    return sum(
        json.loads(frame).get("op") == "unsubscribe"
        for conn in fake.connections
        for frame in conn.received
        if frame.startswith("{")
    )


async def _watch_safe_books(feed: Feed, fake: BybitWire, symbol: str, bad: list[str]) -> None:
    """Whenever the feed calls ``symbol`` safe to quote, its book must sit on the stream's own
    sequence (a REST id from another sequence is ahead of anything the stream sent)."""
    while True:
        book = feed.book(symbol)
        if feed.safe_to_quote(symbol) and book is not None:
            local, true = book.last_update_id, fake.last_update_id(symbol)
            if local is None or local > true:
                bad.append(f"safe to quote at u={local}, stream at u={true}")
        await asyncio.sleep(0.001)


async def test_a_gap_is_resynced_from_rest_with_the_buffered_deltas(
    bybit_case: feeds.VenueCase,
) -> None:
    sym = bybit_case.symbols[0]
    async with bybit_case.fake() as fake:
        assert isinstance(fake, BybitWire)
        config = feeds.feed_config(bybit_case, fake, book_depth=1000)
        async with feeds.running_feed(config) as feed:
            assert await feed.wait_synced(feeds.SYNC_TIMEOUT)
            fake.delay_rest(0.1)  # deltas newer than the snapshot buffer while it travels
            fake.drop_next(sym)
            await feeds.eventually(lambda: feed.metrics.gaps >= 1, "the gap")
            await feeds.assert_matches_true_book(feed, fake, bybit_case.symbols)
            book = feed.book(sym)
            # the gap delta plus those that came while the snapshot travelled (5 ms apart)
            assert book is not None and book.buffered >= 5
            # one gap, one REST call: the buffered deltas newer than the snapshot were replayed
            # onto it (dropping them would have left a hole, a second gap and a second call)
            assert feed.metrics.gaps == 1
            assert _resubscribes(fake) == 0, "resynced from REST, not by resubscribing"
            assert feed.metrics.rest_fallbacks == 0
    hits = [h for h in fake.rest_log if h.path == "/v5/market/orderbook"]
    assert [(h.query["symbol"], h.query["category"], h.status) for h in hits] == [
        (sym, fake.category, 200)
    ]
    assert hits[0].query["limit"] == "1000"


@pytest.mark.parametrize("offset", [10_000, -10_000])
async def test_rest_ids_from_another_sequence_fall_back_to_resubscribing(offset: int) -> None:
    """REST ``u`` ahead of the stream: every delta looks stale, so nothing confirms the
    snapshot; behind it: every try is too old. Either way the book is never offered for
    quoting on REST's word, and an in-band snapshot resyncs it."""
    case = feeds.CASES["bybit-spot"]
    sym = case.symbols[0]
    async with BybitWire(list(case.symbols), rest_u_offset=offset) as fake:
        config = feeds.feed_config(case, fake, book_depth=1000)
        async with feeds.running_feed(config) as feed:
            assert await feed.wait_synced(feeds.SYNC_TIMEOUT)
            bad: list[str] = []
            watcher = asyncio.create_task(_watch_safe_books(feed, fake, sym, bad))
            fake.drop_next(sym)
            await feeds.eventually(lambda: feed.metrics.rest_fallbacks >= 1, "the fallback")
            await feeds.assert_matches_true_book(feed, fake, case.symbols)
            assert _resubscribes(fake) >= 1
            watcher.cancel()
            assert bad == []
    assert any(h.path == "/v5/market/orderbook" for h in fake.rest_log), "REST was tried"


async def test_other_depths_resubscribe_and_never_call_rest(bybit_case: feeds.VenueCase) -> None:
    async with bybit_case.fake() as fake:
        assert isinstance(fake, BybitWire)
        async with feeds.running_feed(feeds.feed_config(bybit_case, fake, book_depth=50)) as feed:
            assert await feed.wait_synced(feeds.SYNC_TIMEOUT)
            fake.drop_next(bybit_case.symbols[0])
            await feeds.eventually(lambda: _resubscribes(fake) >= 1, "the resubscribe")
            await feeds.assert_matches_true_book(feed, fake, bybit_case.symbols)
    assert fake.rest_log == []
