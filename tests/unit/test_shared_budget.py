"""Shared per-IP budgets across the instances (accounts) of one exchange, on a manual clock.

The instances' limiters spend their ``ip`` pools from leases of one `SharedBudget` per
(exchange, egress group): whatever the interleaving, the group never puts more than a pool's
limit in any window; a 429 one instance gets stops the others within their current lease; a
lease nobody reports on (a dead instance) comes back after it expires.
"""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from actors.budget import DEFAULT_GROUP, SharedBudget, budget_key, shared_groups
from actors.lease import Lease, LocalBudgetLink
from actors.limits import RateLimiter
from actors.metrics import Metrics
from actors.once import in_process_budgets
from actors.venue import VenueWorker
from factory.config import RateLimits, VenueConfig, resolve_config, venue_defaults
from factory.errors import ConfigError, RateLimitedError
from tests.unit.test_limiter_slow_start import ManualClock
from tests.unit.test_venue_worker import FakeWire

LIMIT = 100.0
WINDOW_S = 10.0
LIMITS = RateLimits.model_validate({
    "pools": [
        {"name": "ip_w", "limit": LIMIT, "window_s": WINDOW_S, "scope": "ip"},
        {"name": "orders", "limit": 50, "window_s": WINDOW_S, "scope": "uid"},
    ],
    "endpoints": [
        {"name": "account", "path": "/account", "weight": 5, "pools": ["ip_w"]},
        {"name": "big", "path": "/big", "weight": 20, "pools": ["ip_w"]},
        {"name": "order", "path": "/order", "weight": 1, "pools": ["orders"]},
    ],
})


def budget(clock: ManualClock, **kw) -> SharedBudget:
    return SharedBudget("binance", DEFAULT_GROUP, LIMITS.pools, clock=clock, **kw)


def limiter(name: str, shared: SharedBudget, clock: ManualClock) -> RateLimiter:
    return RateLimiter(name, LIMITS, clock=clock, sleep=clock.sleep,
                       budget=LocalBudgetLink(shared))


def renew(lease: Lease, shared: SharedBudget, need: float, now: float) -> None:
    lease.apply(shared.lease(lease.request({"ip_w": need}, now)), now)


# -- config ----------------------------------------------------------------------------------


def test_instances_of_one_exchange_share_a_group_keyed_by_exchange_and_egress():
    binance = venue_defaults()["binance"]
    second = binance.model_copy(update={"venue": "binance2"})
    office = binance.model_copy(update={"venue": "binance3", "egress": "office"})
    alone = venue_defaults()["okx"]
    assert budget_key(second) == ("binance", "default")
    assert budget_key(office) == ("binance", "office")
    groups = shared_groups({"binance": binance, "binance2": second, "binance3": office,
                            "okx": alone})
    # binance3 is alone behind "office" and okx alone: both keep their own pools
    assert groups == {"binance": ("binance", "default"), "binance2": ("binance", "default")}
    chain = venue_defaults()["aave_v3"]
    assert budget_key(chain) is None


def test_an_egress_group_name_is_checked():
    with pytest.raises(ConfigError, match=r"venue_settings\.binance\.egress"):
        resolve_config({"venue_settings": {"binance": {"egress": "office 2"}}})
    ok = resolve_config({"venue_settings": {"binance": {"egress": "office-2"}}})
    assert ok.venue_config("binance").egress == "office-2"
    with pytest.raises(ValueError, match="egress"):
        VenueConfig(venue="x", kind="cex", egress="")


# -- the property: the group never exceeds the pool ----------------------------------------

#: (what, which instance, weight, seconds): mostly sends and answers, now and then a dead one
OPS = st.lists(st.tuples(st.sampled_from(["send"] * 4 + ["answer"] * 3 + ["tick"] * 2 + ["die"]),
                         st.integers(0, 4), st.sampled_from([1.0, 5.0, 20.0]),
                         st.floats(0.0, 3.0)), min_size=1, max_size=200)


@given(OPS)
# the two ways to overrun: many requests in flight at once, and answered ones sent again
@example([("send", i % 5, 20.0, 0.0) for i in range(8)])
@example([("send", 0, 20.0, 0.0), ("answer", 0, 1.0, 0.0)] * 6)
def test_whatever_the_interleaving_the_group_never_exceeds_a_pool_in_any_window(ops):
    """Five instances send, get answers, die and wait in any order; every request counts for
    the venue from when it left until one window after its answer (as a venue counting by
    arrival, in fixed or sliding windows, can see it), and those never sum above the limit."""
    clock = ManualClock()
    shared = budget(clock, lease_s=1.0, grace_s=2.0, lease_fraction=0.25)
    leases = [Lease(f"binance{i}", ["ip_w"], LocalBudgetLink(shared), clock) for i in range(5)]
    dead: set[int] = set()
    flying: list[list[tuple[float, float]]] = [[] for _ in leases]  # (sent_at, weight)
    spans: list[tuple[float, float, float]] = []  # (from, until, weight)
    for op, i, weight, dt in ops:
        lease, now = leases[i], clock.now
        if i in dead:
            continue
        if op == "send":
            if not lease.covers(["ip_w"], weight, now):
                renew(lease, shared, weight, now)
            if lease.covers(["ip_w"], weight, now):
                lease.take(["ip_w"], weight)
                flying[i].append((now, weight))
        elif op == "answer" and flying[i]:
            sent_at, w = flying[i].pop(0)
            lease.settle(["ip_w"], w, now)
            spans.append((sent_at, now + WINDOW_S, w))
        elif op == "tick":
            clock.now += dt
        elif op == "die":
            dead.add(i)  # its requests in flight are answered at once, nobody reports them
            spans.extend((s, now + WINDOW_S, w) for s, w in flying[i])
            flying[i].clear()
    spans.extend((s, float("inf"), w) for f in flying for s, w in f)
    for start, _, _ in spans:
        at_once = sum(w for s, u, w in spans if s <= start < u)
        assert at_once <= LIMIT + 1e-9


# -- leases: batches, renewal, refund, expiry ----------------------------------------------


def test_a_lease_is_a_batch_spent_locally_and_renewed_ahead_of_need():
    clock = ManualClock()
    shared = budget(clock, lease_fraction=0.2)  # batches of 20
    needs: list[float] = []

    class Link(LocalBudgetLink):
        async def lease(self, request):
            needs.append(request.need["ip_w"])
            return await super().lease(request)

    lim = RateLimiter("binance", LIMITS, clock=clock, sleep=clock.sleep, budget=Link(shared))

    async def run() -> None:
        for _ in range(10):  # 50 weight: 2.5 batches
            async with lim.request("account") as answer:
                await asyncio.sleep(0)  # the request is out: other tasks run
                answer.status = 200

    asyncio.run(run())
    # one lease for the first request, then renewals asked ahead (no request waiting)
    assert needs[0] == 5.0 and len(needs) >= 3 and set(needs[1:]) == {0.0}
    # what the group counts: the 50 sent, plus what the instance holds unspent
    assert shared.used("ip_w") == pytest.approx(50 + lim.lease.remaining["ip_w"])


def test_unused_weight_returns_when_the_lease_expires_and_the_instance_says_so():
    clock = ManualClock()
    shared = budget(clock, lease_fraction=0.5, lease_s=1.0)
    lease = Lease("binance", ["ip_w"], LocalBudgetLink(shared), clock)
    renew(lease, shared, 5.0, clock.now)
    lease.take(["ip_w"], 5.0)
    lease.settle(["ip_w"], 5.0, clock.now)
    assert shared.used("ip_w") == 50.0  # the whole batch counts until the instance reports
    clock.now += 1.0  # the lease ends; the next message hands back the 45 unspent
    lease.apply(shared.lease(lease.request({}, clock.now)), clock.now)
    assert shared.used("ip_w") == 5.0
    assert shared.stats.refunded == 45.0
    clock.now += WINDOW_S  # the answered 5 count one window from their answer
    assert shared.used("ip_w") == 0.0


def test_a_dead_instances_lease_expires_after_its_grace_and_one_window():
    clock = ManualClock()
    shared = budget(clock, lease_fraction=0.4, lease_s=1.0, grace_s=2.0)
    dead = Lease("binance", ["ip_w"], LocalBudgetLink(shared), clock)
    alive = Lease("binance2", ["ip_w"], LocalBudgetLink(shared), clock)
    start = clock.now
    renew(dead, shared, 40.0, start)
    renew(alive, shared, 40.0, start)
    assert shared.used("ip_w") == 80.0
    clock.now = start + 1.0  # both leases end; the live instance hands back its 40
    alive.apply(shared.lease(alive.request({}, clock.now)), clock.now)
    assert shared.used("ip_w") == 40.0
    clock.now = start + 2.9  # the dead one's may still be reported (its requests in flight)
    assert shared.used("ip_w") == 40.0 and shared.stats.expired == 0.0
    clock.now = start + 3.0  # past its grace: counted as spent, one window more
    assert shared.used("ip_w") == 40.0 and shared.stats.expired == 40.0
    clock.now = start + 3.0 + WINDOW_S
    assert shared.used("ip_w") == 0.0
    renew(alive, shared, 100.0, clock.now)
    assert alive.remaining["ip_w"] == 100.0  # the whole pool again


def test_a_request_that_does_not_fit_waits_until_the_group_window_frees_it():
    clock = ManualClock()
    shared = budget(clock, lease_fraction=0.2)
    a, b = limiter("binance", shared, clock), limiter("binance2", shared, clock)

    async def run() -> list[float]:
        waits = []
        for lim in (a, b, a, b, a):  # 5 x 20 = the whole pool
            async with lim.request("big") as answer:
                answer.status = 200
        for lim in (a, b):
            waits.append(await lim.acquire("big"))
            lim.release("big", 200)
        return waits

    start = clock.now
    waits = asyncio.run(run())
    assert waits[0] == pytest.approx(WINDOW_S, abs=1.0)  # one window after the first answers
    assert clock.now - start >= WINDOW_S
    assert shared.used("ip_w") <= LIMIT


def test_uid_pools_stay_per_instance():
    clock = ManualClock()
    shared = budget(clock)
    a, b = limiter("binance", shared, clock), limiter("binance2", shared, clock)

    async def run() -> None:
        for lim in (a, b):
            for _ in range(50):  # each instance's own 50 per window
                async with lim.request("order") as answer:
                    answer.status = 200

    asyncio.run(run())
    assert clock.now == 1000.0  # nobody waited: 100 orders, 50 per account
    assert shared.stats.leases == 0


# -- blocks: one instance's 429 stops the group -----------------------------------------------


def test_a_429_to_one_instance_blocks_the_others_within_their_current_lease():
    clock = ManualClock()
    shared = budget(clock, lease_fraction=0.2)
    a, b = limiter("binance", shared, clock), limiter("binance2", shared, clock)
    sent_by_b: list[float] = []

    async def run() -> None:
        for lim in (a, b):  # both hold a lease
            async with lim.request("account") as answer:
                answer.status = 200
        async with a.request("account") as answer:
            answer.status = 429
            answer.headers = {"Retry-After": "5"}
        await asyncio.sleep(0)  # a's report reaches the budget
        held = b.lease.remaining["ip_w"]
        for _ in range(6):
            async with b.request("account") as answer:
                sent_by_b.append(clock.now)
                answer.status = 200
        spent_in_block = 5.0 * sum(t < blocked_at + 5.0 for t in sent_by_b)
        assert spent_in_block <= held

    blocked_at = clock.now
    asyncio.run(run())
    assert shared.stats.blocks == 1
    # b spent what it held, then waited the 429 out and resumed (slow start)
    assert any(t >= blocked_at + 5.0 for t in sent_by_b)
    assert b.stats.server_429 == 0


def test_a_refusal_while_a_renewal_is_on_its_way_reaches_the_group_right_after_it():
    clock = ManualClock()
    shared = budget(clock, lease_fraction=0.2)
    release = asyncio.Event()
    calls: list[tuple[dict, int]] = []

    class SlowLink(LocalBudgetLink):
        async def lease(self, request):
            calls.append((dict(request.need), len(request.blocks)))
            if len(calls) == 2:  # the renewal ahead of need is held on its way
                await release.wait()
            return await super().lease(request)

    lease = Lease("binance", ["ip_w"], SlowLink(shared), clock)

    async def run() -> None:
        await lease.renew({"ip_w": 5.0}, 1.0, lambda grant: None)  # the first lease
        lease.take(["ip_w"], lease.remaining["ip_w"])  # spent: a renewal is wanted
        lease.renew_ahead(lambda grant: None)  # on its way, held by the link
        for _ in range(10):
            await asyncio.sleep(0)
        assert len(calls) == 2  # the renewal's message was built before the refusal
        lease.refused(["ip_w"], 5.0)  # the venue's 429 while it is out
        lease.renew_ahead(lambda grant: None)
        release.set()
        for _ in range(100):  # the held renewal returns, then the report's own message
            if len(calls) == 3 and lease._renewal is not None and lease._renewal.done():
                break
            await asyncio.sleep(0)

    asyncio.run(run())
    # the report went out as the next message, without waiting for another request
    assert [blocks for _, blocks in calls] == [0, 0, 1]
    assert shared.stats.blocks == 1


def test_a_418_to_one_instance_bans_the_whole_group():
    clock = ManualClock()
    shared = budget(clock, lease_fraction=0.05)  # batches of one request
    a, b = limiter("binance", shared, clock), limiter("binance2", shared, clock)

    async def run() -> float:
        async with a.request("account") as answer:
            answer.status = 418
            answer.headers = {"Retry-After": "60"}
        await asyncio.sleep(0)
        return await b.acquire("account")

    waited = asyncio.run(run())
    assert waited >= 60.0 - 1e-9
    assert b.banned_until >= 1060.0 - 1e-9


def test_basis_monitor_once_shares_one_in_process_budget_per_group():
    binance = venue_defaults()["binance"].model_dump(mode="json")
    mode = resolve_config({
        "venues": ["binance", "binance2", "okx"],
        "venue_settings": {"binance2": {**binance, "venue": "binance2"}},
    })
    links = in_process_budgets(mode)
    assert set(links) == {"binance", "binance2"}  # okx is alone: its own pools
    assert links["binance"].budget is links["binance2"].budget
    assert set(links["binance"].budget.pools) == {
        p.name for p in venue_defaults()["binance"].rate_limits.pools if p.scope == "ip"}


async def test_a_venue_worker_spends_its_ip_pools_from_the_group_and_shows_its_lease():
    pools = venue_defaults()["binance"].rate_limits.pools
    shared = SharedBudget("binance", DEFAULT_GROUP, pools)
    first = VenueWorker(FakeWire(), metrics=Metrics(), budget=LocalBudgetLink(shared))
    second = VenueWorker(FakeWire(answers=[(429, {"Retry-After": "30"})]), metrics=Metrics(),
                         budget=LocalBudgetLink(shared))
    await first.snapshot(None, deadline_s=5)
    lease = first.status()["limiter"]["shared_budget"]
    assert lease["pools"] == sorted(p.name for p in pools if p.scope == "ip")
    assert lease["remaining"]["spot_weight"] == 6000 * 0.05 - 20  # a batch less the account
    assert 0 < lease["ends_in_s"] <= 1.0
    assert shared.used("spot_weight") == 6000 * 0.05
    with pytest.raises(RateLimitedError):
        await second.snapshot(None, deadline_s=5)  # the venue's 429 to the second account
    await asyncio.sleep(0)
    assert shared.blocked_until["spot_weight"] >= shared.clock() + 29
    assert VenueWorker(FakeWire(), metrics=Metrics()).status()["limiter"]["shared_budget"] is None
    for _ in range(20):  # the group's messages still on their way finish before the loop ends
        await asyncio.sleep(0)


async def test_a_worker_that_stops_hands_its_unspent_lease_back_at_once():
    pools = venue_defaults()["binance"].rate_limits.pools
    shared = SharedBudget("binance", DEFAULT_GROUP, pools)

    class Wire(FakeWire):
        closed = False

        async def close(self) -> None:
            self.closed = True

    wire = Wire()
    worker = VenueWorker(wire, metrics=Metrics(), budget=LocalBudgetLink(shared))
    await worker.snapshot(None, deadline_s=5)
    assert shared.used("spot_weight") == 6000 * 0.05
    await worker.close()
    assert wire.closed
    assert shared.used("spot_weight") == 20.0  # only the account read, for one window
    assert worker.status()["limiter"]["shared_budget"]["ends_in_s"] == 0.0
