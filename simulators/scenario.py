"""Scenarios: a timeline of events on named devices and the outcome expected of the
service, as a YAML file; a runner that plays one against a service on the manual
clock and reports pass or fail per expectation (table, JUnit XML).

Layer: adapter (MQTT with paho, the API with httpx). The format is documented in
``simulators/scenarios/README.md``; the bundled library is ``simulators/scenarios/*.yaml``.

The scenario logic (expanding the events, the people's actions, checking the
expectations) is :class:`Runner`'s; how it reaches the service is a :class:`Driver`:
:class:`HttpDriver` publishes to the service's MQTT broker and calls its API (a whole
running service), ``gridwatch.in_process.InProcessDriver`` calls the alarm core in
memory (no broker, no SQLite, no threads).

Time: a scenario starts at the service's (manual) clock when it begins; each event's
``at`` is seconds after that. The runner moves the clock to each event's time
(which also runs the absence sweep and the escalation), publishes the event with that
time as ``ts``, waits until the service has taken every message (which sweeps again at
the same time), and at the end moves the clock to ``duration_s`` and checks the
expectations.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol

import httpx
import orjson
import paho.mqtt.client as mqtt
import yaml
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ingest.connection import BrokerAddress, MqttTls
from sensors.errors import GridWatchError, SiteError
from simulators.manual_clock import ManualClockError, advance
from topology.index import SiteIndex
from topology.load import load_site

SCENARIO_DIR = Path(__file__).parent / "scenarios"
SITES_DIR = SCENARIO_DIR / "sites"

Seconds = Annotated[float, Field(ge=0, le=60 * 86400)]
MAX_MESSAGES = 200_000  # a scenario's timeline, expanded (repeats and ramps included)
MAX_FILE_BYTES = 4 << 20


class ScenarioError(GridWatchError):
    """A scenario file that cannot be used (the message names file, path and problem)."""


class _NoAliasLoader(yaml.SafeLoader):
    """YAML without anchors' aliases (``*name``): a few hundred bytes of nested
    aliases expand to gigabytes once a state is serialised (issue 14: 649 bytes took
    ``scenario run`` to 5.5 GB). Scenarios have no use for them."""

    def compose_node(self, parent: Any, index: Any) -> Any:  # noqa: D102 - PyYAML's hook
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call] # PyYAML is untyped
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed in a scenario", mark)
        return super().compose_node(parent, index)


# A device's state is a flat JSON object (the wire contract): at most this many keys,
# each a short name with a scalar value.
MAX_STATE_KEYS = 64
_Key = Annotated[str, Field(min_length=1, max_length=64)]
_Scalar = bool | int | float | Annotated[str, Field(max_length=256)] | None
FlatState = Annotated[dict[_Key, _Scalar], Field(max_length=MAX_STATE_KEYS)]


class Z2mEv(BaseModel):
    """A Zigbee2MQTT message: the device's friendly name and its flat state."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=128)
    state: FlatState = Field(default_factory=dict)


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Ramp(_M):
    """A reading that grows (a gas leak at x %LEL a minute): from ``start`` by
    ``per_minute``, a report every ``every_s`` until ``until_s`` after the event, capped."""

    field: str
    start: float = 0.0
    per_minute: float
    every_s: float = Field(default=15.0, gt=0)
    until_s: float = Field(gt=0, le=7 * 86400)
    cap: float | None = None
    extra: FlatState = Field(default_factory=dict)


class Repeat(_M):
    """The same state every ``every_s`` until ``until_s`` after the event (heartbeats)."""

    every_s: float = Field(gt=0)
    until_s: float = Field(gt=0, le=30 * 86400)


class Act(_M):
    """A person acts on the open alert of a device (and hazard)."""

    device: str
    hazard: str | None = None
    action: Literal["ack", "on-site", "resolve", "close"]
    actor: str = "w-g1"
    outcome: str | None = None
    note: str = ""


class Away(_M):
    """A household checks out as away (or back in)."""

    household: str
    away: bool = True


class Maintenance(_M):
    """A device enters (or leaves) maintenance / test mode."""

    device: str
    enabled: bool = True


EVENT_KINDS = ("state", "ramp", "availability", "z2m", "topic", "act", "away", "maintenance",
               "silence", "lift_silences", "hush")


class HushEv(_M):
    """A person silences a sounding smoke alarm (``POST /api/devices/{id}/hush``)."""

    device: str
    actor: str = "w-g1"


class SilenceEv(_M):
    """Set a silence or maintenance window (``POST /api/silences``) from this event on."""

    reason: str = "scenario"
    place_id: str | None = None
    device_ids: list[str] = Field(default_factory=list)
    hazards: list[str] = Field(default_factory=list)
    device_kinds: list[str] = Field(default_factory=list)
    duration_s: float = Field(gt=0, le=30 * 86400)
    starts_in_s: float = Field(default=0.0, ge=0)


class Event(_M):
    """One thing that happens at ``at`` seconds into the scenario (exactly one kind)."""

    at: Seconds = 0.0
    device: str | None = None
    state: FlatState | None = None
    ramp: Ramp | None = None
    repeat: Repeat | None = None
    availability: Literal["online", "offline"] | None = None
    z2m: Z2mEv | None = Field(default=None, description="{name, state}: a Zigbee2MQTT message")
    topic: str | None = None
    payload: str | None = None
    act: Act | None = None
    away: Away | None = None
    maintenance: Maintenance | None = None
    silence: SilenceEv | None = None
    lift_silences: bool | None = Field(default=None, description="lift every current silence")
    hush: HushEv | None = None
    skew_s: float = Field(default=0.0, ge=-86400, le=86400,
                          description="the device's clock is this far off (added to ts)")
    no_ts: bool = Field(default=False, description="send no ts: the service stamps arrival")
    note: str = ""

    @model_validator(mode="after")
    def _one_kind(self) -> Event:
        kinds = [k for k in EVENT_KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(f"an event has exactly one of {', '.join(EVENT_KINDS)} "
                             f"(got {kinds or 'none'})")
        if kinds[0] in ("state", "ramp", "availability") and not self.device:
            raise ValueError(f"a {kinds[0]} event needs a device")
        if kinds[0] == "topic" and self.payload is None:
            raise ValueError("a topic event needs a payload")
        if self.repeat is not None and kinds[0] not in ("state", "z2m"):
            raise ValueError("repeat goes with a state or z2m event")
        return self


class AlertMatch(_M):
    """Which alert: by device and/or hazard."""

    device: str | None = None
    hazard: str | None = None


class Expect(_M):
    """One expected outcome (exactly one of ``alert``, ``no_alert``, ``dead_letters``)."""

    name: str | None = None
    alert: AlertMatch | None = None
    no_alert: AlertMatch | None = None
    dead_letters: dict[str, int] | None = Field(default=None, description="reason → count")
    severity: Literal["info", "warning", "critical"] | None = None
    assignee: str | None = None
    status: str | None = None
    active: bool | None = None
    detail: str | None = None
    within_s: float | None = Field(default=None, ge=0, description="raised at most this long after after_s")
    after_s: float = Field(default=0.0, ge=0, description="raised no earlier than this")
    timeline: list[str] = Field(default_factory=list, description="actions its timeline must have")
    not_timeline: list[str] = Field(default_factory=list, description="actions it must not have")
    fields: dict[str, Any] = Field(default_factory=dict, description=(
        "values of the alert's fields by dotted path (escalation.level, facts.kind, ...)"))
    told: list[str] = Field(default_factory=list, description="people (ids) it reached")
    not_told: list[str] = Field(default_factory=list, description="people it must not reach")
    count: int | None = Field(default=None, ge=0, description="how many matching alerts")
    needs: str | None = Field(default=None, description="a capability; skipped when absent")

    @model_validator(mode="after")
    def _one_kind(self) -> Expect:
        kinds = [k for k in ("alert", "no_alert", "dead_letters") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(f"an expectation has exactly one of alert, no_alert, dead_letters "
                             f"(got {kinds or 'none'})")
        return self

    def title(self) -> str:
        """A readable name."""
        if self.name:
            return self.name
        if self.alert is not None:
            what = " ".join(x for x in (self.alert.hazard, "on", self.alert.device) if x)
            return f"alert {what} {self.severity or ''}".strip()
        if self.no_alert is not None:
            what = " ".join(x for x in (self.no_alert.hazard, "on", self.no_alert.device) if x)
            return f"no alert {what}".strip()
        return f"dead letters {self.dead_letters}"


class Scenario(_M):
    """A scenario file."""

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    site: str = "small"
    duration_s: Seconds
    start_local: str | None = Field(default=None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
                                    description="first move the clock to this local time (HH:MM)")
    events: list[Event] = Field(default_factory=list)
    expect: list[Expect] = Field(min_length=1)
    tags: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _bounded(self) -> Scenario:
        n = 0
        for ev in self.events:
            if ev.repeat is not None:
                n += int(ev.repeat.until_s // ev.repeat.every_s) + 1
            elif ev.ramp is not None:
                n += int(ev.ramp.until_s // ev.ramp.every_s) + 1
            else:
                n += 1
        if n > MAX_MESSAGES:
            raise ValueError(f"the events expand to {n:,} messages; a scenario has at most "
                             f"{MAX_MESSAGES:,}")
        return self


@dataclass(slots=True)
class Loaded:
    """A scenario with where it came from."""

    path: Path
    scenario: Scenario
    timezone: str = "Asia/Shanghai"  # the site's, for ``start_local``

    @property
    def site_path(self) -> Path:
        """The site file the scenario runs on."""
        return site_path(self.scenario.site, self.path.parent)


def site_path(site: str, base: Path) -> Path:
    """A bundled site name (``small``) or a path relative to the scenario file."""
    bundled = SITES_DIR / f"{site}.yaml"
    if "/" not in site and not site.endswith((".yaml", ".yml")) and bundled.exists():
        return bundled
    return (base / site).resolve()


def load_scenario(path: Path) -> Loaded:
    """Read and check a scenario file.

    Raises:
        ScenarioError: not YAML, or not a scenario (each problem with its path).
    """
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ScenarioError(f"{path}: larger than {MAX_FILE_BYTES >> 20} MiB: not a scenario")
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{path}: cannot read: {exc}") from None
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as exc:
        lines = [f"{path}: not a valid scenario:"]
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "(top)"
            lines.append(f"  {where}: {err['msg']}")
        raise ScenarioError("\n".join(lines)) from None
    loaded = Loaded(path, sc)
    if not loaded.site_path.exists():
        raise ScenarioError(f"{path}: site: no file {loaded.site_path}")
    try:
        index = SiteIndex(load_site(loaded.site_path))
    except SiteError as exc:
        raise ScenarioError(f"{path}: site: {exc}") from None
    problems = list(_unknown_names(sc, index))
    if problems:
        raise ScenarioError("\n".join([f"{path}: names what its site does not have:",
                                       *(f"  {where}: {what}" for where, what in problems)]))
    loaded.timezone = index.site.community.timezone
    return loaded


def _unknown_names(sc: Scenario, index: SiteIndex) -> Iterator[tuple[str, str]]:
    """(path, problem) for every device, Zigbee2MQTT name, household or person a
    scenario names that its site does not have (a typo would otherwise pass quietly)."""
    devices = set(index.device_index)
    z2m = {p.device.z2m_name for p in index.devices if p.device.z2m_name}
    for i, ev in enumerate(sc.events):
        where = f"events.{i}"
        if ev.device and ev.device not in devices:
            yield f"{where}.device", f"no device {ev.device!r}"
        if ev.z2m is not None and ev.z2m.name not in z2m:
            yield f"{where}.z2m.name", f"no device has z2m_name {ev.z2m.name!r}"
        if ev.act is not None:
            if ev.act.device not in devices:
                yield f"{where}.act.device", f"no device {ev.act.device!r}"
            if ev.act.actor not in index.workers:
                yield f"{where}.act.actor", f"no worker {ev.act.actor!r}"
        if ev.away is not None and ev.away.household not in index.households:
            yield f"{where}.away.household", f"no household {ev.away.household!r}"
        if ev.maintenance is not None and ev.maintenance.device not in devices:
            yield f"{where}.maintenance.device", f"no device {ev.maintenance.device!r}"
        if ev.hush is not None and ev.hush.device not in devices:
            yield f"{where}.hush.device", f"no device {ev.hush.device!r}"
        if ev.silence is not None:
            for d in ev.silence.device_ids:
                if d not in devices:
                    yield f"{where}.silence.device_ids", f"no device {d!r}"
    for i, e in enumerate(sc.expect):
        for key in ("alert", "no_alert"):
            m = getattr(e, key)
            if m is not None and m.device and m.device not in devices:
                yield f"expect.{i}.{key}.device", f"no device {m.device!r}"
        people = [e.assignee] if e.assignee else []
        for who in [*people, *e.told, *e.not_told]:
            if who not in index.workers and not who.startswith("contact:"):
                yield f"expect.{i}", f"no worker {who!r}"


def bundled() -> list[Path]:
    """The scenario library shipped with GridWatch."""
    return sorted(SCENARIO_DIR.glob("*.yaml"))


# -- results ---------------------------------------------------------------------------


@dataclass(slots=True)
class Outcome:
    """One expectation's result."""

    name: str
    status: Literal["pass", "fail", "skip"]
    detail: str = ""
    seconds: float = 0.0


@dataclass(slots=True)
class Result:
    """One scenario's result."""

    path: Path
    name: str
    outcomes: list[Outcome] = field(default_factory=list)
    wall_s: float = 0.0
    error: str | None = None

    @property
    def passed(self) -> bool:
        """No expectation failed and the run did not break."""
        return self.error is None and all(o.status != "fail" for o in self.outcomes)


def table(results: list[Result]) -> str:
    """A plain-text report, one line per expectation."""
    lines = []
    for r in results:
        mark = "PASS" if r.passed else "FAIL"
        lines.append(f"{mark}  {r.name}  ({r.path.name}, {r.wall_s:.1f} s)")
        if r.error:
            lines.append(f"      error: {r.error}")
        lines.extend(f"      {o.status:<4}  {o.name}" + (f": {o.detail}" if o.detail else "")
                     for o in r.outcomes)
    n_fail = sum(1 for r in results if not r.passed)
    lines.append(f"{len(results) - n_fail} of {len(results)} scenarios passed")
    return "\n".join(lines)


def junit_xml(results: list[Result]) -> str:
    """JUnit XML: a test suite per scenario, a test case per expectation."""
    suites = ET.Element("testsuites")
    for r in results:
        s = ET.SubElement(suites, "testsuite", name=r.name, file=str(r.path),
                          tests=str(len(r.outcomes)), time=f"{r.wall_s:.3f}",
                          failures=str(sum(o.status == "fail" for o in r.outcomes)),
                          skipped=str(sum(o.status == "skip" for o in r.outcomes)),
                          errors="1" if r.error else "0")
        if r.error:
            c = ET.SubElement(s, "testcase", name="run", classname=r.path.stem)
            ET.SubElement(c, "error", message=r.error)
        for o in r.outcomes:
            c = ET.SubElement(s, "testcase", name=o.name, classname=r.path.stem,
                              time=f"{o.seconds:.3f}")
            if o.status == "fail":
                ET.SubElement(c, "failure", message=o.detail)
            elif o.status == "skip":
                ET.SubElement(c, "skipped", message=o.detail)
    return ET.tostring(suites, encoding="unicode")


# -- running ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """A running service: its API, its broker, an admin token, its community, and how to
    log in to the broker (user, password, TLS; None: anonymous, plain TCP)."""

    api: str
    mqtt_host: str
    mqtt_port: int
    token: str
    community: str
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    mqtt_tls: MqttTls | None = None


@dataclass(order=True, slots=True)
class _Step:
    at: float
    order: int
    kind: str = field(compare=False)
    topic: str = field(default="", compare=False)
    payload: bytes = field(default=b"", compare=False)
    event: Event | None = field(default=None, compare=False)
    skew: float | None = field(default=0.0, compare=False)  # None: no ts


def expand(sc: Scenario, community: str) -> list[_Step]:
    """Every message and action of a scenario, in time order."""
    steps: list[_Step] = []
    seq: dict[str, int] = {}
    n = 0

    def state(at: float, device: str, values: dict[str, Any], ev: Event) -> None:
        nonlocal n
        seq[device] = seq.get(device, 0) + 1
        payload = {**values, "seq": seq[device]}
        n += 1
        steps.append(_Step(at, n, "state", f"gridwatch/{community}/{device}/state",
                           orjson.dumps(payload), skew=None if ev.no_ts else ev.skew_s))

    for ev in sc.events:
        times = [ev.at]
        if ev.repeat is not None:
            k = 1
            while k * ev.repeat.every_s <= ev.repeat.until_s:
                times.append(ev.at + k * ev.repeat.every_s)
                k += 1
        if ev.state is not None and ev.device:
            for t in times:
                state(t, ev.device, ev.state, ev)
        elif ev.ramp is not None and ev.device:
            r = ev.ramp
            k = 0
            while k * r.every_s <= r.until_s:
                v = r.start + r.per_minute * (k * r.every_s) / 60.0
                if r.cap is not None:
                    v = min(v, r.cap)
                state(ev.at + k * r.every_s, ev.device, {r.field: round(v, 3), **r.extra}, ev)
                k += 1
        elif ev.availability is not None and ev.device:
            n += 1
            steps.append(_Step(ev.at, n, "message", f"gridwatch/{community}/{ev.device}/availability",
                               ev.availability.encode()))
        elif ev.z2m is not None:
            for t in times:
                n += 1
                steps.append(_Step(t, n, "message", f"zigbee2mqtt/{ev.z2m.name}",
                                   orjson.dumps(ev.z2m.state)))
        elif ev.topic is not None and ev.payload is not None:
            n += 1
            steps.append(_Step(ev.at, n, "message", ev.topic, ev.payload.encode()))
        else:
            n += 1
            steps.append(_Step(ev.at, n, "action", event=ev))
    return sorted(steps)


class Driver(Protocol):
    """How a :class:`Runner` reaches a service on the manual clock. Every method that
    changes something raises :class:`ScenarioError` with what the service answered
    when it refuses."""

    community: str

    def now(self) -> float:
        """The service's clock."""
        ...

    def advance(self, seconds: float) -> float:
        """Move the clock on (never back) and run the absence rules and the escalation
        steps due then; returns the new time."""
        ...

    def publish(self, topic: str, payload: bytes) -> None:
        """An MQTT message (QoS 1) to the service's ingest."""
        ...

    def settle(self) -> None:
        """Wait until the service has taken everything published (then sweep, as
        :meth:`advance` by 0 s)."""
        ...

    def act(self, alert_id: int, action: str, *, actor: str, note: str, outcome: str | None) -> None:
        """A person's action on an alert (``ack``, ``on-site``, ``resolve``, ``close``)."""
        ...

    def away(self, household: str, away: bool) -> None:
        """A household checks out as away, or back."""
        ...

    def maintenance(self, device: str, on: bool) -> None:
        """A device into maintenance, or out."""
        ...

    def silence(self, spec: SilenceEv, starts_at: float) -> None:
        """Set a silence or maintenance window."""
        ...

    def lift_silences(self) -> None:
        """Lift every current silence."""
        ...

    def hush(self, device: str, note: str) -> None:
        """Hush a sounding smoke alarm."""
        ...

    def alerts(self, device: str | None, hazard: str | None) -> list[dict[str, Any]]:
        """Alerts (as the API shows them) of a device and/or hazard, newest first."""
        ...

    def dead_letters(self) -> dict[str, int]:
        """Dead letters counted so far, by reason."""
        ...

    def told(self, alert_id: int) -> set[str]:
        """Everybody a notice of the alert was addressed to."""
        ...

    def timeline(self, alert_id: int) -> list[str]:
        """The actions on the alert's timeline, in order."""
        ...

    def capabilities(self) -> set[str]:
        """What the service has (``alerts``, ``silences``, ``escalation``)."""
        ...

    def close(self) -> None:
        """Let go of the service."""
        ...


class HttpDriver:
    """A running service: MQTT to its broker (paho), its API (httpx), its manual clock
    moved with ``POST /api/clock``."""

    def __init__(self, target: Target, *, settle_timeout_s: float = 30.0) -> None:
        """Connects to the broker (raises ScenarioError when it cannot)."""
        self.community = target.community
        self.settle_timeout_s = min(settle_timeout_s, 120.0)
        self._now: float | None = None
        self._received: int | None = None
        self.http = httpx.Client(base_url=target.api, timeout=15,
                                 headers={"Authorization": f"Bearer {target.token}"})
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"gw-scenario-{id(self)}")
        self.client.max_inflight_messages_set(200)
        BrokerAddress(target.mqtt_host, target.mqtt_port, target.mqtt_username,
                      target.mqtt_password, target.mqtt_tls).configure(self.client)
        try:
            self.client.connect(target.mqtt_host, target.mqtt_port)
        except OSError as exc:
            raise ScenarioError(f"cannot reach the broker at {target.mqtt_host}:{target.mqtt_port}: {exc}") from None
        self.client.loop_start()

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()
        self.http.close()

    def _health(self) -> dict[str, Any]:
        r = self.http.get("/api/health")
        r.raise_for_status()
        return dict(r.json())

    def now(self) -> float:
        """The service's clock (and, from here on, its ingest's count is the baseline)."""
        health = self._health()
        self._received = int(health["ingest"]["received"])
        self._now = float(health["time"])
        return self._now

    def _clock(self, advance_s: float, received: int | None = None) -> float:
        self._now = advance(self.http, advance_s, received=received, wait_s=self.settle_timeout_s)
        return self._now

    def advance(self, seconds: float) -> float:
        """``POST /api/clock``."""
        return self._clock(seconds)

    def publish(self, topic: str, payload: bytes) -> None:
        """Publish at QoS 1 and count it."""
        if self._received is None:
            self.now()
        self.client.publish(topic, payload, qos=1)
        self._received = (self._received or 0) + 1

    def settle(self) -> None:
        """``POST /api/clock`` by 0 s once the ingest has taken every message published."""
        self._clock(0.0, self._received)

    def _post(self, what: str, path: str, body: dict[str, Any], ok: int = 200) -> None:
        r = self.http.post(path, json=body)
        if r.status_code != ok:
            raise ScenarioError(f"{what} answered {r.status_code}: {r.text[:200]}")

    def act(self, alert_id: int, action: str, *, actor: str, note: str, outcome: str | None) -> None:
        """``POST /api/alerts/{id}/{action}``."""
        body: dict[str, Any] = {"actor": actor, "note": note}
        if outcome:
            body["outcome"] = outcome
        self._post(action, f"/api/alerts/{alert_id}/{action}", body)

    def away(self, household: str, away: bool) -> None:
        """``POST /api/households/{id}/away``."""
        self.http.post(f"/api/households/{household}/away", json={"away": away}).raise_for_status()

    def maintenance(self, device: str, on: bool) -> None:
        """``POST /api/devices/{id}/maintenance``."""
        self.http.post(f"/api/devices/{device}/maintenance", json={"on": on}).raise_for_status()

    def silence(self, spec: SilenceEv, starts_at: float) -> None:
        """``POST /api/silences``."""
        body = spec.model_dump(exclude={"starts_in_s"})
        body["starts_at"] = str(starts_at)
        self._post("silence", "/api/silences", body, ok=201)

    def lift_silences(self) -> None:
        """``DELETE /api/silences/{id}`` for each current one."""
        for s in self.http.get("/api/silences").json().get("items", []):
            self.http.delete(f"/api/silences/{s['id']}").raise_for_status()

    def hush(self, device: str, note: str) -> None:
        """``POST /api/devices/{id}/hush``."""
        self._post("hush", f"/api/devices/{device}/hush", {"note": note})

    def alerts(self, device: str | None, hazard: str | None) -> list[dict[str, Any]]:
        """``GET /api/alerts``."""
        params: dict[str, Any] = {"limit": 1000}
        if device:
            params["device"] = device
        if hazard:
            params["kind"] = hazard
        r = self.http.get("/api/alerts", params=params)
        r.raise_for_status()
        return list(r.json()["items"])

    def dead_letters(self) -> dict[str, int]:
        """``GET /api/dead-letters``' counts."""
        r = self.http.get("/api/dead-letters", params={"limit": 1})
        r.raise_for_status()
        return dict(r.json()["counts"])

    def told(self, alert_id: int) -> set[str]:
        """The recipients of every notification attempt of the alert."""
        n = self.http.get(f"/api/alerts/{alert_id}/notifications", params={"limit": 1000}).json()
        return {x["recipient"] for x in n.get("items", [])}

    def timeline(self, alert_id: int) -> list[str]:
        """``GET /api/alerts/{id}``'s timeline."""
        return [x["action"] for x in self.http.get(f"/api/alerts/{alert_id}").json().get("timeline", [])]

    def capabilities(self) -> set[str]:
        """From the service's OpenAPI paths."""
        caps = {"alerts"}
        paths = self.http.get("/openapi.json").json().get("paths", {})
        if any(p.startswith("/api/silences") for p in paths):
            caps.add("silences")
        if any(p.endswith("/notifications") for p in paths):
            caps.add("escalation")
        return caps


class Runner:
    """Plays scenarios against one service, through a :class:`Driver`."""

    def __init__(self, target: Target | Driver, *, settle_timeout_s: float = 30.0) -> None:
        """A :class:`Target` gets an :class:`HttpDriver` (which connects to its broker
        and raises ScenarioError when it cannot)."""
        self.d: Driver = (HttpDriver(target, settle_timeout_s=settle_timeout_s)
                          if isinstance(target, Target) else target)

    def close(self) -> None:
        """Let go of the service."""
        self.d.close()

    def _alerts(self, match: AlertMatch, since: float) -> list[dict[str, Any]]:
        return [a for a in self.d.alerts(match.device, match.hazard) if a["raised_at"] >= since - 1e-6]

    # -- one scenario ------------------------------------------------------------------

    def run(self, loaded: Loaded) -> Result:
        """Play a scenario and check its expectations."""
        sc = loaded.scenario
        result = Result(loaded.path, sc.name)
        t0 = time.monotonic()
        try:
            if sc.start_local:
                self.d.advance(self._next_local(sc.start_local, loaded) - self.d.now())
            start = now = self.d.now()
            dead0 = self.d.dead_letters()
            steps = expand(sc, self.d.community)
            i = 0
            while i < len(steps):
                at = steps[i].at
                now = self.d.advance(start + at - now)
                published = False
                while i < len(steps) and steps[i].at == at:
                    s = steps[i]
                    if s.kind == "action":
                        if published:  # earlier messages of this instant first
                            self.d.settle()
                            published = False
                        assert s.event is not None
                        self._action(s.event, start)
                    else:
                        payload = s.payload
                        if s.kind == "state" and s.skew is not None:
                            payload = orjson.dumps({**orjson.loads(payload),
                                                    "ts": start + at + s.skew})
                        self.d.publish(s.topic, payload)
                        published = True
                    i += 1
                if published:
                    self.d.settle()
            self.d.advance(start + sc.duration_s - now)
            caps = self.d.capabilities()
            for e in sc.expect:
                t = time.monotonic()
                out = self._check(e, start, dead0, caps)
                out.seconds = time.monotonic() - t
                result.outcomes.append(out)
        except (ScenarioError, ManualClockError, httpx.HTTPError, OSError, KeyError,
                ValueError) as exc:
            result.error = f"{type(exc).__name__}: {exc}"
        result.wall_s = time.monotonic() - t0
        return result

    def _next_local(self, hhmm: str, loaded: Loaded) -> float:
        from datetime import datetime, timedelta  # noqa: PLC0415
        from zoneinfo import ZoneInfo  # noqa: PLC0415

        now = datetime.fromtimestamp(self.d.now(), ZoneInfo(loaded.timezone))
        h, m = (int(x) for x in hhmm.split(":"))
        target = now.replace(hour=h, minute=m, second=0, microsecond=0)
        if target <= now:
            target += timedelta(days=1)
        return target.timestamp()

    def _action(self, ev: Event, start: float) -> None:
        try:
            self._do(ev, start)
        except ScenarioError as exc:
            raise ScenarioError(f"at {ev.at:g} s: {exc}") from None

    def _do(self, ev: Event, start: float) -> None:
        if ev.act is not None:
            a = ev.act
            found = [x for x in self._alerts(AlertMatch(device=a.device, hazard=a.hazard), start)
                     if x["status"] in ("raised", "acknowledged", "on_site", "resolved")]
            if not found:
                raise ScenarioError(f"no open alert on {a.device} to {a.action}")
            self.d.act(int(found[0]["id"]), a.action, actor=a.actor, note=a.note, outcome=a.outcome)
        elif ev.away is not None:
            self.d.away(ev.away.household, ev.away.away)
        elif ev.maintenance is not None:
            self.d.maintenance(ev.maintenance.device, ev.maintenance.enabled)
        elif ev.silence is not None:
            self.d.silence(ev.silence, start + ev.at + ev.silence.starts_in_s)
        elif ev.hush is not None:
            self.d.hush(ev.hush.device, ev.note)
        elif ev.lift_silences:
            self.d.lift_silences()

    def _check(self, e: Expect, start: float, dead0: dict[str, int], caps: set[str]) -> Outcome:
        name = e.title()
        if e.needs and e.needs not in caps:
            return Outcome(name, "skip", f"the service has no {e.needs}")
        if e.dead_letters is not None:
            now = self.d.dead_letters()
            bad = {k: (now.get(k, 0) - dead0.get(k, 0), v) for k, v in e.dead_letters.items()
                   if now.get(k, 0) - dead0.get(k, 0) != v}
            if bad:
                return Outcome(name, "fail", ", ".join(f"{k}: {got} (expected {want})"
                                                        for k, (got, want) in bad.items()))
            return Outcome(name, "pass")
        if e.no_alert is not None:
            found = self._alerts(e.no_alert, start)
            if e.severity:
                found = [a for a in found if a["severity"] == e.severity]
            if found:
                a = found[0]
                return Outcome(name, "fail", f"got #{a['id']} {a['hazard']} {a['severity']} on "
                                             f"{a['device_id']} at +{a['raised_at'] - start:.0f} s")
            return Outcome(name, "pass")
        assert e.alert is not None
        found = self._alerts(e.alert, start)
        if e.count is not None and len(found) != e.count:
            return Outcome(name, "fail", f"{len(found)} alerts (expected {e.count})")
        if not found:
            return Outcome(name, "fail", "no such alert")
        problems: list[str] = []
        for a in found:
            problems = self._mismatch(e, a, start)
            if not problems:
                return Outcome(name, "pass", f"#{a['id']} raised at +{a['raised_at'] - start:.0f} s")
        return Outcome(name, "fail", "; ".join(problems))

    def _mismatch(self, e: Expect, a: dict[str, Any], start: float) -> list[str]:
        out = []
        rel = a["raised_at"] - start
        if e.severity and a["severity"] != e.severity:
            out.append(f"severity {a['severity']} (expected {e.severity})")
        assignee = (a.get("assignee") or {}).get("id") if isinstance(a.get("assignee"), dict) else a.get("assignee")
        if e.assignee and assignee != e.assignee:
            out.append(f"assigned to {assignee} (expected {e.assignee})")
        if e.status and a["status"] != e.status:
            out.append(f"status {a['status']} (expected {e.status})")
        if e.active is not None and a["active"] != e.active:
            out.append(f"active {a['active']} (expected {e.active})")
        if e.detail and a.get("detail") != e.detail:
            out.append(f"detail {a.get('detail')!r} (expected {e.detail!r})")
        if rel < e.after_s - 1e-6:
            out.append(f"raised at +{rel:.0f} s, before +{e.after_s:g} s")
        if e.within_s is not None and rel > e.after_s + e.within_s + 1e-6:
            out.append(f"raised at +{rel:.0f} s, later than +{e.after_s + e.within_s:g} s")
        for path, want in e.fields.items():
            got = field_at(a, path)
            if got != want:
                out.append(f"{path} = {'(none)' if got is _MISSING else repr(got)} (expected {want!r})")
        if e.told or e.not_told:
            told = self.d.told(int(a["id"]))
            out += _has_and_lacks(told, e.told, e.not_told, f"told {sorted(told)}")
        if e.timeline or e.not_timeline:
            actions = self.d.timeline(int(a["id"]))
            out += _has_and_lacks(set(actions), e.timeline, e.not_timeline, f"timeline {actions}")
        return out


_MISSING: Any = object()


def field_at(d: dict[str, Any], path: str) -> Any:
    """The value at a dotted path of an alert's dict (``escalation.level``); a missing
    key anywhere on the way gives a sentinel that equals nothing a scenario can write."""
    cur: Any = d
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return _MISSING
        cur = cur[part]
    return cur


def _has_and_lacks(got: set[str], must: list[str], must_not: list[str], what: str) -> list[str]:
    """Problems: what ``got`` lacks of ``must``, and what it has of ``must_not``."""
    out = []
    missing = [x for x in must if x not in got]
    if missing:
        out.append(f"{what} lacks {missing}")
    extra = [x for x in must_not if x in got]
    if extra:
        out.append(f"{what} has {extra}")
    return out


def run_all(target: Target, files: list[Loaded]) -> Iterator[Result]:
    """Run scenarios one after the other against one service."""
    runner = Runner(target)
    try:
        for f in files:
            yield runner.run(f)
    finally:
        runner.close()


__all__ = ["Driver", "Expect", "HttpDriver", "Loaded", "Result", "Runner", "Scenario", "ScenarioError",
           "Target", "bundled", "expand", "field_at", "junit_xml", "load_scenario", "run_all", "table"]
