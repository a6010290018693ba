"""The simulator against a real Mosquitto: everything it publishes decodes; a gas leak rises."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from sensors.fields import FIELD_INDEX
from sensors.wire import decode_state, parse_topic
from sensors.zigbee2mqtt import decode_z2m, parse_z2m_topic
from simulators.community import CommunitySimulator
from tests.integration.harness import wait_for
from tests.servers import MosquittoServer
from topology.generate import dump_site_yaml, generate_site
from topology.index import SiteIndex
from topology.load import parse_site

pytestmark = pytest.mark.integration

LEL = FIELD_INDEX["lel_pct"]


@pytest.fixture(scope="module")
def broker():
    with MosquittoServer() as server:
        yield server


class Recorder:
    """A paho subscriber that keeps (topic, payload, receive time) of everything."""

    def __init__(self, broker: MosquittoServer, topics: tuple[str, ...]) -> None:
        self.messages: list[tuple[str, bytes, float]] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="gw-test-recorder")
        ready = threading.Event()
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe([(t, 1) for t in topics])
        self.client.on_subscribe = lambda *a: ready.set()
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert ready.wait(5), "subscription not acknowledged"

    def _on_message(self, client, userdata, msg) -> None:
        with self.lock:
            self.messages.append((msg.topic, msg.payload, time.time()))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _site(**kw):
    data = generate_site(compounds=1, buildings=3, units=8, households=100, grids=1, seed=11, **kw)
    return parse_site(data)


def test_everything_decodes_and_an_injected_gas_leak_rises(broker):
    site = _site(z2m=True)
    index = SiteIndex(site)
    models = {p.device.z2m_name: p.device.model for p in index.devices if p.device.z2m_name}
    gas = next(p.id for p in index.devices if p.device.model == "HS1CG")
    rec = Recorder(broker, ("gridwatch/#", "zigbee2mqtt/#"))
    sim = CommunitySimulator(
        index,
        host=broker.host,
        port=broker.port,
        rate_multiplier=600.0,
        warmup_s=0.5,
        seed=3,
        client_id="gw-test-sim",
    )
    try:
        sim.start()
        time.sleep(1.0)
        sim.inject("gas_leak", gas)
        time.sleep(2.5)
        stats = sim.stats()
    finally:
        sim.stop()
        try:  # every message the broker acknowledged reaches the subscriber
            wait_for(lambda: len(rec.messages) >= sim.stats().sent, 10, "the last messages")
        finally:
            rec.close()
    assert stats.sent > len(index.devices)  # every device at least once, then more
    assert stats.hazards == {gas: "gas_leak"}
    assert stats.rate_per_s > 50
    assert sim.stats().acked == sim.stats().sent

    seen_devices = set()
    for topic, payload, recv in rec.messages:
        if topic.startswith("zigbee2mqtt/"):
            name, _ = parse_z2m_topic(topic)
            decode_z2m(models[name], payload, recv)  # raises on anything bad
            seen_devices.add(name)
        else:
            parts = parse_topic(topic)
            msg = decode_state(payload, recv)
            assert not msg.skewed
            assert msg.seq > 0
            seen_devices.add(parts.device_id)
    assert len(seen_devices) == len(index.devices)
    assert len(rec.messages) == sim.stats().sent  # all of them, each once (it ran on after stats)
    assert any(t.startswith("gridwatch/") for t, _, _ in rec.messages)  # gateways stay native

    # HS1CG only says gas yes/no (an alarm from 25 %LEL, 12.5 s into the leak); while the
    # leak lasts it reports every second.
    leak = [p for t, p, _ in rec.messages if t == f"zigbee2mqtt/{gas}"]
    assert len(leak) >= 3


def test_native_gas_leak_shows_rising_lel(broker):
    index = SiteIndex(_site())
    gas = next(p.id for p in index.devices if p.device.kind == "gas")
    rec = Recorder(broker, (f"gridwatch/+/{gas}/state",))
    with CommunitySimulator(
        index,
        host=broker.host,
        port=broker.port,
        rate_multiplier=100.0,
        warmup_s=0.2,
        client_id="gw-test-sim2",
    ) as sim:
        sim.inject("gas_leak", gas)
        time.sleep(3.2)
    time.sleep(0.2)
    rec.close()
    lel = [decode_state(p, r).values[LEL] for _, p, r in rec.messages]
    rising = [v for v in lel if v > 0]
    assert len(rising) >= 3, lel
    assert rising == sorted(rising) and rising[-1] >= 4.0


def test_cli_simulate_runs_for_a_duration(broker, tmp_path):
    site_file = tmp_path / "site.yaml"
    site_file.write_text(
        dump_site_yaml(
            generate_site(compounds=1, buildings=1, units=2, households=20, grids=1, seed=1)
        ),
        encoding="utf-8",
    )
    gas = next(
        p.id
        for p in SiteIndex(
            parse_site(
                generate_site(compounds=1, buildings=1, units=2, households=20, grids=1, seed=1)
            )
        ).devices
        if p.device.kind == "gas"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from gridwatch.cli import main; sys.exit(main())",
            "simulate",
            "--site",
            str(site_file),
            "--mqtt",
            broker.url,
            "--rate",
            "100",
            "--duration",
            "2",
            "--inject",
            f"gas_leak:{gas}",
            "--inject-after",
            "0.5",
        ],
        check=False,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"gas_leak@{gas}" in proc.stderr
    assert "msg/s" in proc.stderr
