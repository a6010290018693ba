"""The channel interface says whether a failure is worth retrying: a URL no plugin
knows is never tried again (the next channel takes over at once, and a person with
no usable channel is counted, not retried forever); a refusing server is retried."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from alerts.model import Alert, AlertStatus, Facts
from alerts.notify import dispatcher as dispatcher_module
from alerts.notify.dispatcher import Dispatcher
from alerts.notify.types import Notice, NoticeType
from alerts.routing import Recipient
from alerts.rules.types import Severity
from store.notify import NotifyStore
from tests.integration.notify.test_notify import Webhook

pytestmark = pytest.mark.integration


def notice(urls: tuple[str, ...], outbox: int | None = 1) -> Notice:
    alert = Alert(id=7, key="gas-201:gas", hazard="gas", severity=Severity.WARNING,
                  status=AlertStatus.RAISED, active=True, device_id="gas-201", place_id="b2-u1-201",
                  grid_id="g2", assignee="w-g2", raised_at=0.0, updated_at=0.0,
                  facts=Facts(address="2号楼"))
    extra: dict[str, object] = {"outbox": {"w-g2": outbox}} if outbox else {}
    return Notice(alert, NoticeType.ALARM, (Recipient("w-g2", "刘洋", "grid_worker", urls),),
                  time.time(), "raised", 0, extra)


def test_an_unknown_url_is_not_retried_and_the_next_channel_takes_over(tmp_path: Path) -> None:
    hook = Webhook()
    store = NotifyStore(tmp_path / "n.db")
    delivered: list[tuple[int, str]] = []
    d = Dispatcher(store, retries=3, retry_backoff_s=0.2,
                   on_delivered=lambda oid, ch: delivered.append((oid, ch)))
    try:
        d.submit(notice(("nosuchscheme://nowhere", hook.url("w"))))
        assert d.wait_idle(10)
        attempts, _ = store.attempts(7)
        assert [(a["channel"].split(":")[0], a["ok"]) for a in attempts] == [("nosuchscheme", False), ("json", True)]
        assert delivered == [(1, f"json://127.0.0.1:{hook.port}")]
        assert len(hook.got("w")) == 1
    finally:
        d.close(1)
        hook.close()


def test_a_person_with_no_usable_channel_is_counted_not_retried_forever(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dispatcher_module, "PENDING_RETRY_S", 0.1)
    store = NotifyStore(tmp_path / "n.db")
    d = Dispatcher(store, retries=3, retry_backoff_s=0.1)
    try:
        d.submit(notice(("nosuchscheme://a", "alsonot://b")))
        assert d.wait_idle(10)
        time.sleep(0.5)  # a start-over would have tried again by now
        assert len(store.attempts(7)[0]) == 2  # each channel once
        assert d.stats()["undeliverable"] == 1 and d.stats()["undelivered"] == 0
    finally:
        d.close(1)


def test_a_refusing_server_is_retried_until_it_takes_the_notice(tmp_path: Path) -> None:
    hook = Webhook()
    hook.fail["/w"] = 2
    store = NotifyStore(tmp_path / "n.db")
    d = Dispatcher(store, retries=3, retry_backoff_s=0.1)
    try:
        d.submit(notice((hook.url("w"),)))
        assert d.wait_idle(10)
        assert [a["ok"] for a in store.attempts(7)[0]] == [False, False, True]
    finally:
        d.close(1)
        hook.close()
