"""Login throttling, the hash pool and the audit budget (api.accounts), time passed in."""

from __future__ import annotations

import threading

import pytest

from api.accounts import AuditBudget, HashPool, LoginLimiter, LoginLimits
from api.errors import ApiError


def test_failures_cost_doubling_waits_not_a_lockout():
    lim = LoginLimiter(LoginLimits(free_per_login=3, free_per_client=100, first_wait_s=1.0,
                                   max_wait_login_s=8.0))
    t = 1000.0
    for _ in range(3):
        assert lim.begin("wang", "c1", t) == (None, False)
    wait, first = lim.begin("wang", "c1", t)  # the fourth must wait 1 s after the third
    assert wait == pytest.approx(1.0) and first is True
    assert lim.begin("wang", "c1", t + 0.5)[1] is False  # one refusal streak, one audit row
    waits = []
    for _ in range(6):  # each try after its wait: 1, 2, 4, 8, 8, 8 s
        w, _first = lim.begin("wang", "c1", t)
        t += w
        assert lim.begin("wang", "c1", t) == (None, False)
        waits.append(w)
    assert waits[0] == pytest.approx(1.0)
    assert [round(w) for w in waits[1:]] == [2, 4, 8, 8, 8]  # capped: never locked out


def test_a_try_counts_before_its_password_is_checked():
    """Sixty tries at once: only the free ones get to the hash; the rest wait."""
    lim = LoginLimiter(LoginLimits(free_per_login=5, free_per_client=1000))
    admitted = sum(lim.begin("wang", f"c{i}", 50.0)[0] is None for i in range(60))
    assert admitted == 5
    assert lim.failures("wang") == 5


def test_success_clears_the_name_and_gives_the_client_its_try_back():
    lim = LoginLimiter(LoginLimits(free_per_login=2, free_per_client=3))
    for who in ("a", "b"):
        assert lim.begin(who, "c", 10.0)[0] is None
    lim.succeeded("b", "c")
    assert lim.failures("b") == 0 and lim.failures("a") == 1
    assert lim.begin("d", "c", 10.0)[0] is None  # the client had 2 counted, back to 1
    assert lim.begin("e", "c", 10.0)[0] is None
    assert lim.begin("f", "c", 10.0)[0] is not None  # 3 free per client used up


def test_failures_are_forgotten_after_a_quiet_while():
    lim = LoginLimiter(LoginLimits(free_per_login=1, forget_s=900.0))
    assert lim.begin("x", "c", 0.0)[0] is None
    assert lim.begin("x", "c", 0.1)[0] is not None
    assert lim.begin("x", "c", 901.0)[0] is None


def test_the_per_client_count_stops_a_spray_of_names():
    lim = LoginLimiter(LoginLimits(free_per_login=5, free_per_client=10, max_wait_client_s=300.0))
    admitted = [lim.begin(f"user{i}", "203.0.113.9", 0.0)[0] is None for i in range(50)]
    assert sum(admitted) == 10
    assert lim.begin("another", "198.51.100.1", 0.0)[0] is None  # other clients are not held


def test_the_hash_pool_has_a_bounded_queue():
    pool = HashPool(workers=2, queue=3)
    gate = threading.Event()
    futures = [pool.submit(gate.wait, 10) for _ in range(5)]
    with pytest.raises(ApiError) as exc:
        pool.submit(gate.wait, 10)
    assert exc.value.status == 503 and exc.value.headers == {"Retry-After": "1"}
    gate.set()
    assert all(f.result(10) for f in futures)
    assert pool.submit(lambda: 42).result(10) == 42  # room again
    pool.close()


def test_the_audit_budget_keeps_a_flood_to_a_few_rows_and_a_count():
    budget = AuditBudget(per_minute=3)
    taken = [budget.take(60.0 + i * 0.1) for i in range(10)]
    assert taken == [0, 0, 0] + [None] * 7
    assert budget.take(120.0) == 7  # the next minute's first row says how many were left out
    assert budget.take(120.1) == 0
    assert budget.take(119.0) == 0  # a try that began in the last minute finishes late:
    assert budget.take(119.5) is None  # it does not open that minute's budget again
