"""The MQTT channel as sirens see it, against this machine's Mosquitto with a real subscriber
(paho, not the channel's own client): retained QoS 1 levels per zone, drills apart, a last
will when the feed dies, and the same state again after a restart of either side."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from conftest import end, feed, manual, open_service, track
from paho.mqtt.enums import CallbackAPIVersion

from airwarn.channels.mqtt import MqttChannel, parse_url, zone_topic_level
from airwarn.errors import AirwarnError
from airwarn.service import Service
from airwarn.store.tokens import Client

HOST, PORT = "127.0.0.1", 1883
URL = f"mqtt://{HOST}:{PORT}"
OPERATOR = Client("op-1", "admin")
TESTS = Path(__file__).resolve().parent


def reachable(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, port)) == 0


@pytest.fixture
def broker() -> str:
    if not reachable(HOST, PORT):
        pytest.skip(
            f"no MQTT broker at {HOST}:{PORT}; start it with "
            "`mosquitto -d -c /etc/mosquitto/mosquitto.conf`"
        )
    return URL


@pytest.fixture
def prefix() -> str:
    return f"airwarn-test/{uuid.uuid4().hex[:12]}"


class Subscriber:
    """A siren's view: a paho client on its own thread, keeping every message it gets."""

    def __init__(
        self, topics: list[str], port: int = PORT, *, tls: ssl.SSLContext | None = None
    ) -> None:
        self.messages: list[mqtt.MQTTMessage] = []
        self._changed = threading.Condition()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"siren-{uuid.uuid4().hex[:8]}"
        )
        if tls is not None:
            self._client.tls_set_context(tls)
        subscribed = threading.Event()
        self._client.on_message = self._on_message
        self._client.on_subscribe = lambda *_: subscribed.set()
        self._client.on_connect = lambda client, *_: client.subscribe(
            [(topic, 1) for topic in topics]
        )
        self._client.connect("localhost" if tls else HOST, port, keepalive=10)
        self._client.loop_start()
        if not subscribed.wait(10):
            raise RuntimeError("the subscriber was not subscribed within 10 s")

    def _on_message(self, _client: Any, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._changed:
            self.messages.append(message)
            self._changed.notify_all()

    def wait_for(
        self, found: Callable[[mqtt.MQTTMessage], bool], timeout: float = 10.0
    ) -> mqtt.MQTTMessage:
        """The first message (from the start) for which `found` is true."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for message in self.messages:
                    if found(message):
                        return message
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(m.topic, m.payload[:120]) for m in self.messages[-10:]]
                    raise AssertionError(f"no such message within {timeout} s; last: {seen}")
                self._changed.wait(left)

    def on(self, topic: str) -> list[dict[str, Any]]:
        with self._changed:
            return [json.loads(m.payload) for m in self.messages if m.topic == topic]

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


@contextmanager
def subscriber(topics: list[str], port: int = PORT, **kwargs: Any) -> Iterator[Subscriber]:
    sub = Subscriber(topics, port, **kwargs)
    try:
        yield sub
    finally:
        sub.close()


def state(message: mqtt.MQTTMessage) -> dict[str, Any]:
    return dict(json.loads(message.payload))


def online(prefix: str) -> Callable[[mqtt.MQTTMessage], bool]:
    return lambda m: m.topic == f"{prefix}/status" and state(m)["state"] == "online"


@contextmanager
def running(channel: MqttChannel, service: Service) -> Iterator[asyncio.AbstractEventLoop]:
    """The channel wired as the app's lifespan wires it, on an event loop of its own thread;
    the test's thread is the service's writer."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(channel.start(service), loop).result(5)
    service.listeners.append(channel.publish)
    try:
        yield loop
    finally:
        service.listeners.remove(channel.publish)
        asyncio.run_coroutine_threadsafe(channel.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def ingest(service: Service, events: list[Any]) -> Any:
    return feed(service, events, OPERATOR, int(time.time() * 1000))[-1]


def ingest_all(service: Service, events: list[Any]) -> list[Any]:
    return feed(service, events, OPERATOR, int(time.time() * 1000))


def raid() -> list[Any]:
    """A drone flying at the grid from the west, intercepted, then the clock moving past the
    hold: pre-alerts ahead of it, alerts, then all-clears."""
    events = [
        track("D1", s, 31.5, 34.2 + 0.0015 * s, kind="drone", vel_mps=[140.0, 0.0, 0.0])
        for s in range(0, 400, 4)
    ]
    return [*events, end("D1", 400, "intercepted"), track("X9", 1100, 29.0, 30.0, kind="unknown")]


def logged(service: Service) -> list[dict[str, Any]]:
    return [json.loads(body) for _, body in service.log.decisions(0, 100_000)]


# -- a raid ------------------------------------------------------------------------------


def test_a_raid_reaches_each_zone_topic_in_order_as_retained_qos1_levels(
    broker, prefix, grid, store_url, signing_keys
) -> None:
    service = open_service(grid, store_url, signing_keys)
    channel = MqttChannel(broker, prefix=prefix)
    with subscriber([f"{prefix}/#"]) as siren, running(channel, service):
        siren.wait_for(online(prefix))
        answer = ingest(service, raid())
        decisions = logged(service)
        assert answer.decisions == len(decisions) > 0
        assert {d["level"] for d in decisions} == {"pre_alert", "alert", "clear"}
        last = decisions[-1]["seq"]
        siren.wait_for(lambda m: m.topic.startswith(f"{prefix}/zones/") and state(m)["seq"] == last)
        live = [m for m in siren.messages if m.topic.startswith(f"{prefix}/zones/")]
        # every decision once, in seq order, at QoS 1, on its zone's topic, saying what it said
        assert [state(m)["seq"] for m in live] == [d["seq"] for d in decisions]
        assert all(m.qos == 1 for m in live)
        for message, decision in zip(live, decisions, strict=True):
            body = state(message)
            assert message.topic == f"{prefix}/zones/{decision['zone']}"
            assert {k: body[k] for k in ("zone", "level", "t", "kind", "threats")} == {
                k: decision[k] for k in ("zone", "level", "t", "kind", "threats")
            }
            assert body["status"] == "actual"
        # a siren that connects now gets each zone's last word, retained
        final = {d["zone"]: d for d in decisions}
        with subscriber([f"{prefix}/zones/+"]) as late:
            late.wait_for(lambda m: len({x.topic for x in late.messages}) >= len(final))
            assert all(m.retain for m in late.messages)
            got = {state(m)["zone"]: (state(m)["level"], state(m)["seq"]) for m in late.messages}
        assert got == {z: (d["level"], d["seq"]) for z, d in final.items()}
    service.db.dispose()


def test_a_siren_connecting_during_an_alert_gets_the_level_at_once(
    broker, prefix, grid, tmp_path, signing_keys
) -> None:
    service = open_service(grid, f"sqlite:///{tmp_path / 'a.db'}", signing_keys)
    channel = MqttChannel(broker, prefix=prefix)
    topic = f"{prefix}/zones/{zone_topic_level('r2c3')}"
    with subscriber([f"{prefix}/status", topic]) as watcher, running(channel, service):
        watcher.wait_for(online(prefix))
        ingest(service, [manual("alert", 0, zones=["r2c3"], category="missiles")])
        watcher.wait_for(lambda m: m.topic == topic)  # the broker has it: now a new siren
        with subscriber([f"{prefix}/zones/{zone_topic_level('r2c3')}"]) as siren:
            message = siren.wait_for(lambda m: True)
        assert message.retain and message.qos == 1
        assert state(message)["level"] == "alert" and state(message)["kind"] == "missiles"
        assert state(message)["seq"] == service.engine.seq
    service.db.dispose()


def test_a_drill_goes_to_the_drill_topic_and_never_to_the_siren_topic(
    broker, prefix, grid, tmp_path, signing_keys
) -> None:
    service = open_service(grid, f"sqlite:///{tmp_path / 'a.db'}", signing_keys)
    channel = MqttChannel(broker, prefix=prefix)
    with subscriber([f"{prefix}/#"]) as siren, running(channel, service):
        siren.wait_for(online(prefix))
        ingest(service, [manual("alert", 0, zones=["r0c0", "r0c1"], status="exercise")])
        ingest(service, [manual("clear", 5, zones=["r0c1"], status="exercise")])
        ingest(service, [manual("alert", 6, zones=["r5c5"], status="test")])
        ingest(service, [manual("alert", 7, zones=["r4c4"])])  # a real one, after them
        siren.wait_for(lambda m: m.topic == f"{prefix}/zones/r4c4")
        drills = {m.topic: state(m) for m in siren.messages if "/drills/" in m.topic}
        zones = [m.topic for m in siren.messages if "/zones/" in m.topic]
    assert zones == [f"{prefix}/zones/r4c4"]
    assert {t: (d["level"], d["status"]) for t, d in drills.items()} == {
        f"{prefix}/drills/r0c0": ("alert", "exercise"),
        f"{prefix}/drills/r0c1": ("clear", "exercise"),
        f"{prefix}/drills/r5c5": ("alert", "test"),
    }
    with subscriber([f"{prefix}/drills/+"]) as late:
        late.wait_for(lambda m: len(late.messages) == 3)
        assert all(m.retain for m in late.messages)
    service.db.dispose()


def test_a_zone_under_a_drill_and_a_test_keeps_the_drill_on_its_topic_when_the_test_ends(
    broker, prefix, grid, tmp_path, signing_keys
) -> None:
    """Each status is a lane of its own (docs/engine.md, "Drills and tests"); the zone's one
    drills topic holds the higher of them, as its zones topic does its lanes."""
    service = open_service(grid, f"sqlite:///{tmp_path / 'a.db'}", signing_keys)
    channel = MqttChannel(broker, prefix=prefix)
    topic = f"{prefix}/drills/r1c1"
    with subscriber([f"{prefix}/#"]) as display, running(channel, service):
        display.wait_for(online(prefix))
        ingest(service, [manual("alert", 0, zones=["r1c1"], status="exercise")])
        ingest(service, [manual("alert", 1, zones=["r1c1"], status="test")])
        ingest(service, [manual("clear", 2, zones=["r1c1"], status="test")])
        ingest(service, [manual("alert", 3, zones=["r4c4"])])  # a real one, after them
        display.wait_for(lambda m: m.topic == f"{prefix}/zones/r4c4")
    assert service.engine.drill_levels() == {("r1c1", "exercise"): "alert"}
    with subscriber([topic]) as late:
        message = late.wait_for(lambda m: True)
    assert message.retain and (state(message)["level"], state(message)["status"]) == (
        "alert",
        "exercise",
    )
    service.db.dispose()


def test_a_channel_started_after_a_test_ended_during_a_drill_publishes_the_drill(
    broker, prefix, grid, tmp_path, signing_keys
) -> None:
    """What a restarted (or newly leading) channel reads from the store keeps each status's
    lane: the drill that still holds the zone, not the test that ended there."""
    service = open_service(grid, f"sqlite:///{tmp_path / 'a.db'}", signing_keys)
    for t, action, status in ((0, "alert", "exercise"), (1, "alert", "test"), (2, "clear", "test")):
        ingest(service, [manual(action, t, zones=["r1c1"], status=status)])
    channel = MqttChannel(broker, prefix=prefix)
    topic = f"{prefix}/drills/r1c1"
    with subscriber([topic]) as display, running(channel, service):
        message = display.wait_for(lambda m: m.topic == topic)
    assert (state(message)["level"], state(message)["status"]) == ("alert", "exercise")
    service.db.dispose()


# -- a dead feed -------------------------------------------------------------------------

FEED = textwrap.dedent("""
    import asyncio, sys
    sys.path.insert(0, {tests!r})
    from conftest import open_service, grid_zones
    from airwarn.cap.sign import load_or_create_keys
    from airwarn.channels.mqtt import MqttChannel
    from airwarn.engine.zones import zones_from_geojson

    async def main():
        service = open_service(zones_from_geojson(grid_zones()), {db!r},
                               load_or_create_keys({keys!r}))
        channel = MqttChannel({url!r}, prefix={prefix!r}, heartbeat_s=0.2)
        await channel.start(service)
        await asyncio.Event().wait()

    asyncio.run(main())
""")


def test_the_broker_says_offline_when_the_feed_dies_and_heartbeats_stop(
    broker, prefix, tmp_path
) -> None:
    script = FEED.format(
        tests=str(TESTS),
        db=f"sqlite:///{tmp_path / 'a.db'}",
        keys=str(tmp_path / "keys"),
        url=broker,
        prefix=prefix,
    )
    with subscriber([f"{prefix}/status", f"{prefix}/heartbeat"]) as siren:
        feed = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE)
        try:
            siren.wait_for(online(prefix), timeout=30)
            siren.wait_for(lambda m: m.topic == f"{prefix}/heartbeat")
        finally:
            feed.send_signal(signal.SIGKILL)  # no clean disconnect: the broker sends the will
            _, errors = feed.communicate(timeout=10)
        will = siren.wait_for(
            lambda m: m.topic == f"{prefix}/status" and state(m)["state"] == "offline"
        )
        assert state(will)["reason"] == "connection lost", errors.decode()[-2000:]
        beats = len(siren.on(f"{prefix}/heartbeat"))
        assert not will.retain  # live delivery; a siren that connects later gets it retained
        time.sleep(0.6)  # three heartbeats' worth: none comes from a dead feed
        assert len(siren.on(f"{prefix}/heartbeat")) == beats
    with subscriber([f"{prefix}/status"]) as late:
        retained = late.wait_for(lambda m: True)
    assert retained.retain and state(retained)["state"] == "offline"


def test_a_clean_stop_says_offline_with_the_last_seq(
    broker, prefix, grid, tmp_path, signing_keys
) -> None:
    service = open_service(grid, f"sqlite:///{tmp_path / 'a.db'}", signing_keys)
    with subscriber([f"{prefix}/status"]) as watcher:
        with running(MqttChannel(broker, prefix=prefix), service):
            watcher.wait_for(online(prefix))
            ingest(service, [manual("alert", 0, zones=["r0c0", "r0c1"])])
        stopped = watcher.wait_for(lambda m: state(m)["state"] == "offline")
    assert state(stopped)["reason"] == "stopped" and state(stopped)["seq"] == 2
    service.db.dispose()


def test_a_late_will_of_an_earlier_feed_does_not_leave_a_live_feed_marked_offline(
    broker, prefix, grid, tmp_path, signing_keys
) -> None:
    service = open_service(grid, f"sqlite:///{tmp_path / 'a.db'}", signing_keys)
    with (
        subscriber([f"{prefix}/status"]) as watcher,
        running(MqttChannel(broker, prefix=prefix), service),
    ):
        first = watcher.wait_for(online(prefix))
        # the broker notices a dead predecessor only now and sends its will
        publish(f"{prefix}/status", b'{"state":"offline","reason":"connection lost"}', retain=True)
        again = watcher.wait_for(lambda m: m is not first and state(m)["state"] == "online")
        assert state(again) == state(first)
        with subscriber([f"{prefix}/status"]) as late:
            assert state(late.wait_for(lambda m: True))["state"] == "online"
    service.db.dispose()


def test_the_app_starts_the_channel_and_feeds_it_what_sensors_post(
    broker, prefix, grid, tmp_path, signing_keys
) -> None:
    from fastapi.testclient import TestClient

    from airwarn.contract import encode_event
    from airwarn.store.tokens import create_token
    from airwarn.web import WebSettings, create_app

    service = open_service(grid, f"sqlite:///{tmp_path / 'a.db'}", signing_keys)
    token = create_token(service.db, "admin", "admin-1", 0)
    app = create_app(
        service, WebSettings(rate_burst=10_000), channels=[MqttChannel(broker, prefix=prefix)]
    )
    with subscriber([f"{prefix}/#"]) as siren, TestClient(app) as http:
        siren.wait_for(online(prefix))
        body = b"\n".join(encode_event(e) for e in raid())
        answer = http.post("/v1/events", content=body, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.text
        last = answer.json()["last_decision_seq"]
        siren.wait_for(lambda m: "/zones/" in m.topic and state(m)["seq"] == last)
    stopped = siren.wait_for(
        lambda m: m.topic.endswith("/status") and state(m)["state"] == "offline"
    )
    assert state(stopped) == {**state(stopped), "reason": "stopped", "seq": last}
    service.db.dispose()


# -- catching up -------------------------------------------------------------------------


def test_a_restart_republishes_the_log_state_and_clears_what_an_earlier_run_left(
    broker, prefix, grid, store_url, signing_keys
) -> None:
    service = open_service(grid, store_url, signing_keys)
    with subscriber([f"{prefix}/#"]) as siren:
        with running(MqttChannel(broker, prefix=prefix), service):
            siren.wait_for(online(prefix))
            ingest(service, [manual("alert", 0, zones=["r0c0", "r0c1", "r0c2"])])
            siren.wait_for(lambda m: m.topic == f"{prefix}/zones/r0c2")
        # while no feed runs: the broker loses one topic, an older deployment left another
        # alerted, and the writer (with no channel listening) clears a zone
        publish(f"{prefix}/zones/r0c1", b"", retain=True)
        publish(
            f"{prefix}/zones/r5c5",
            json.dumps({"zone": "r5c5", "level": "alert", "seq": 999, "status": "actual"}).encode(),
            retain=True,
        )
        ingest(service, [manual("clear", 10, zones=["r0c0"])])
    service.db.dispose()

    again = open_service(grid, store_url, signing_keys)  # a new process on the same store
    with (
        running(MqttChannel(broker, prefix=prefix), again),
        subscriber([f"{prefix}/status"]) as watcher,
    ):
        watcher.wait_for(lambda m: state(m)["state"] == "online")
        with subscriber([f"{prefix}/zones/+"]) as late:
            late.wait_for(lambda m: len({x.topic for x in late.messages}) >= 4)
            got = {m.topic.rsplit("/", 1)[1]: state(m)["level"] for m in late.messages}
    assert got == {"r0c0": "clear", "r0c1": "alert", "r0c2": "alert", "r5c5": "clear"}
    again.db.dispose()


def test_a_cancelled_alert_is_not_an_all_clear_on_the_siren_topic(
    broker, prefix, grid, store_url, signing_keys
) -> None:
    # a siren set to sound the all-clear must not sound one after a false alarm: the clear of
    # a cancellation names the CAP message it cancels, as the webhook's msg_type Cancel does
    service = open_service(grid, store_url, signing_keys)
    cancelled, cleared = f"{prefix}/zones/r1c1", f"{prefix}/zones/r1c2"
    with subscriber([f"{prefix}/#"]) as siren:
        with running(MqttChannel(broker, prefix=prefix), service):
            siren.wait_for(online(prefix))
            (sent,) = ingest_all(service, [manual("alert", 0, zones=["r1c1"])])
            ingest_all(service, [manual("alert", 1, zones=["r1c2"])])
            identifier = sent.messages[0].identifier
            answer = service.cancel(identifier, "sent in error", OPERATOR, 2_000)
            assert [m.msg_type for m in answer.messages] == ["Cancel"]
            ingest_all(service, [manual("clear", 3, zones=["r1c2"])])
            siren.wait_for(lambda m: m.topic == cleared and state(m)["level"] == "clear")
            said = siren.on(cancelled)[-1]
            assert said["level"] == "clear" and said["cancels"] == identifier
            assert "cancels" not in siren.on(cleared)[-1]  # an all-clear stays one
        publish(cancelled, b"", retain=True)  # the broker loses it while no feed runs
    service.db.dispose()

    # a new process reads it from the log: the retained state says the same
    again = open_service(grid, store_url, signing_keys)
    with (
        running(MqttChannel(broker, prefix=prefix), again),
        subscriber([f"{prefix}/status"]) as watcher,
    ):
        watcher.wait_for(online(prefix))
        with subscriber([cancelled, cleared]) as late:
            late.wait_for(lambda m: len({x.topic for x in late.messages}) >= 2)
            assert late.on(cancelled)[-1]["cancels"] == identifier
            assert "cancels" not in late.on(cleared)[-1]
    again.db.dispose()


def test_a_restart_over_a_national_zone_set_reads_what_the_broker_holds_and_resends_none(
    broker, prefix, tmp_path, signing_keys
) -> None:
    from conftest import grid_zones

    from airwarn.engine.zones import zones_from_geojson

    # more zones than Mosquitto queues QoS 1 messages for one client (1,000): the sync must
    # still see every retained topic, or it would resend them all after a long timeout
    zones = zones_from_geojson(grid_zones(34, 34, step=0.01))
    url = f"sqlite:///{tmp_path / 'a.db'}"
    service = open_service(zones, url, signing_keys)
    with subscriber([f"{prefix}/status"]) as watcher:
        with running(MqttChannel(broker, prefix=prefix), service):
            watcher.wait_for(online(prefix))
            ingest(service, [manual("alert", 0, zones=list(zones.ids))])
        # a clean stop goes out after every decision handed over before it
        assert state(watcher.wait_for(lambda m: state(m)["state"] == "offline"))["seq"] == len(
            zones
        )
    again = open_service(zones, url, signing_keys)
    channel = MqttChannel(broker, prefix=prefix)
    started = time.monotonic()
    with subscriber([f"{prefix}/status"]) as watcher, running(channel, again):
        watcher.wait_for(lambda m: state(m)["state"] == "online")
        took_s = time.monotonic() - started
        assert channel.last_sync == {"sent": 0, "reset": 0, "retained": len(zones)}
    assert took_s < 5
    service.db.dispose()
    again.db.dispose()


def test_decisions_committed_before_the_channel_listened_are_sent_from_the_log(
    broker, prefix, grid, tmp_path, signing_keys
) -> None:
    service = open_service(grid, f"sqlite:///{tmp_path / 'a.db'}", signing_keys)
    channel = MqttChannel(broker, prefix=prefix, heartbeat_s=0.2)
    with subscriber([f"{prefix}/zones/+"]) as siren, running(channel, service):
        service.listeners.remove(channel.publish)
        ingest(service, [manual("alert", 0, zones=["r1c1"])])  # no one hears this step
        siren.wait_for(lambda m: m.topic.endswith("/r1c1"))  # a quiet moment: from the log
        ingest(service, [manual("alert", 1, zones=["r1c2"])])
        service.listeners.append(channel.publish)
        ingest(service, [manual("alert", 2, zones=["r1c3"])])  # a gap before it: filled
        siren.wait_for(lambda m: m.topic.endswith("/r1c3"))
        seqs = [state(m)["seq"] for m in siren.messages]
    assert seqs == [1, 2, 3]
    service.db.dispose()


# -- a broker of the test's own, to restart and to speak TLS -------------------------------


@contextmanager
def own_broker(
    tmp_path: Path, port: int, tls: tuple[Path, Path] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A Mosquitto of this test's own on a free port, keeping nothing on disk."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not os.path.exists(binary):
        pytest.skip("the mosquitto binary is not installed (apt-get install mosquitto)")
    conf = tmp_path / f"mosquitto-{port}.conf"
    # run as whoever runs the tests (root would otherwise drop to a user who cannot read
    # the test's own files)
    lines = [
        f"listener {port} 127.0.0.1",
        "allow_anonymous true",
        "persistence false",
        f"user {os.environ.get('USER') or 'root'}",
    ]
    if tls is not None:
        lines += [f"certfile {tls[0]}", f"keyfile {tls[1]}"]
    conf.write_text("\n".join(lines) + "\n")
    process = subprocess.Popen(
        [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 10
        while not reachable(HOST, port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mosquitto did not start: {process.stderr.read()!r}")
            time.sleep(0.05)
        yield process
    finally:
        process.terminate()
        process.wait(10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def test_after_a_broker_restart_the_current_state_is_published_again(
    prefix, grid, tmp_path, signing_keys
) -> None:
    port = free_port()
    service = open_service(grid, f"sqlite:///{tmp_path / 'a.db'}", signing_keys)
    channel = MqttChannel(f"mqtt://{HOST}:{port}", prefix=prefix)
    with running(channel, service):  # no broker yet: the channel keeps trying, never blocks
        ingest(service, [manual("alert", 0, zones=["r3c3"])])
        with own_broker(tmp_path, port), subscriber([f"{prefix}/#"], port) as siren:
            siren.wait_for(online(prefix))
            siren.wait_for(lambda m: m.topic == f"{prefix}/zones/r3c3")
        # the broker is gone, with every retained message; the writer goes on
        ingest(service, [manual("clear", 5, zones=["r3c3"]), manual("alert", 6, zones=["r3c4"])])
        assert not channel.connected
        with own_broker(tmp_path, port):
            with subscriber([f"{prefix}/status"], port) as watcher:
                watcher.wait_for(online(prefix), timeout=15)
            with subscriber([f"{prefix}/zones/+"], port) as late:
                late.wait_for(lambda m: len(late.messages) >= 2)
                got = {
                    m.topic.rsplit("/", 1)[1]: (state(m)["level"], state(m)["seq"])
                    for m in late.messages
                }
    assert got == {"r3c3": ("clear", 2), "r3c4": ("alert", 3)}
    service.db.dispose()


def test_mqtts_connects_with_the_ca_the_url_names(prefix, grid, tmp_path, signing_keys) -> None:
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    port = free_port()
    service = open_service(grid, f"sqlite:///{tmp_path / 'a.db'}", signing_keys)
    channel = MqttChannel(f"mqtts://localhost:{port}?cafile={tmp_path / 'ca.pem'}", prefix=prefix)
    trusting = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    with (
        own_broker(tmp_path, port, tls=(tmp_path / "cert.pem", tmp_path / "key.pem")),
        running(channel, service),
        subscriber([f"{prefix}/#"], port, tls=trusting) as siren,
    ):
        siren.wait_for(online(prefix))
        ingest(service, [manual("alert", 0, zones=["r0c0"])])
        assert state(siren.wait_for(lambda m: "/zones/" in m.topic))["level"] == "alert"
    service.db.dispose()


# -- configuration -----------------------------------------------------------------------


def test_the_broker_url_carries_credentials_and_tls() -> None:
    plain = parse_url("mqtt://siren%40feed:p%3Ass@broker.example")
    assert (plain.host, plain.port, plain.username, plain.password, plain.tls) == (
        "broker.example",
        1883,
        "siren@feed",
        "p:ss",
        False,
    )
    secure = parse_url("mqtts://broker.example?cafile=/etc/ca.pem")
    assert (secure.port, secure.tls, secure.cafile) == (8883, True, "/etc/ca.pem")
    assert parse_url("mqtt://127.0.0.1:1884").port == 1884


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://broker:1883", "mqtt:// or mqtts://"),
        ("mqtt://:1883", "names no host"),
        ("mqtt://broker:99999", "port"),
        ("mqtt://broker/airwarn", "prefix"),
        ("mqtt://broker?cafile=/ca.pem", "needs mqtts://"),
        ("mqtts://broker?ca=/ca.pem", "unknown option"),
        ("mqtts://broker?cafile=/nowhere/ca.pem", "cannot be used"),
    ],
)
def test_a_bad_broker_url_is_refused_with_what_to_write(url: str, says: str) -> None:
    with pytest.raises(AirwarnError, match=says):
        MqttChannel(url)


def test_zone_ids_with_topic_wildcards_stay_one_topic_level() -> None:
    assert zone_topic_level("north/west+1#") == "north%2Fwest%2B1%23"
    assert zone_topic_level("a%b") == "a%25b"


def publish(topic: str, payload: bytes, *, retain: bool) -> None:
    import paho.mqtt.publish as single

    single.single(topic, payload, qos=1, retain=retain, hostname=HOST, port=PORT)
