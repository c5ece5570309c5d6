"""The store protects itself: every logged event is sealed into a chain, a start-up (or
`airwarn store verify`) refuses a log that was edited, cut or truncated and names the first
bad event, nothing ends in a traceback, the files are private, and the secrets for webhooks
and push are not kept in plain text. Attacked on the files and tables of a real
`airwarn serve`, on SQLite and PostgreSQL (finding 9 of issue 11)."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from kits.serverkit import Launcher

from .conftest import Deployment, drone, store_at


@pytest.fixture(params=["sqlite", "postgresql"])
def written(
    request: pytest.FixtureRequest, launcher: Launcher, tmp_path: Path
) -> Iterator[Deployment]:
    """A store with five events a server wrote and then stopped (SIGKILL: no clean exit)."""
    with store_at(request.param, tmp_path) as db:
        served = Deployment(launcher, tmp_path, db)
        served.token("sensor", "radar")
        served.server.start()
        try:
            for i in range(5):
                answer = served.post("radar", drone(f"I-{i}", 0.01 * i, lat=31.45 + 0.04 * i))
                assert answer.status_code == 200, answer.text
        finally:
            served.server.stop()
        yield served


def refused_start(served: Deployment) -> str:
    """Start the server, which must refuse; what it printed."""
    log = served.folder / "serve.log"
    log.write_text("")
    with pytest.raises(RuntimeError, match="exited"):
        served.server.start(timeout_s=60)
    text = log.read_text()
    assert "Traceback" not in text, text
    return text


def verify(served: Deployment, *args: str) -> tuple[int, str]:
    out, err = served.folder / "verify.out", served.folder / "verify.err"
    for path in (out, err):
        path.write_text("")
    pid = served.launcher.spawn(
        ["store", "verify", "--db", served.db, "--keys", str(served.keys), *args], out, err
    )
    status = served.launcher.reap(pid, block=True)
    assert status is not None
    text = out.read_text() + err.read_text()
    assert "Traceback" not in text, text
    return status, text


def event_seqs(served: Deployment) -> list[int]:
    return [int(seq) for (seq,) in served.rows("SELECT seq FROM event_log ORDER BY seq")]


def track_seq(served: Deployment, threat: str) -> int:
    (seq,) = served.rows("SELECT seq FROM event_log WHERE body LIKE :t", t=f'%"{threat}"%')[0]
    return int(seq)


def test_an_intact_store_verifies_and_starts(written: Deployment) -> None:
    status, text = verify(written)
    assert status == 0, text
    assert f"{len(event_seqs(written))} events" in text
    first, last = event_seqs(written)[1], event_seqs(written)[-2]
    status, text = verify(written, "--from", str(first), "--to", str(last))
    assert status == 0 and f"{first}" in text and f"{last}" in text, text
    written.server.start()
    written.server.stop()


def test_an_event_edited_on_disk_is_named_and_the_server_refuses_to_start(
    written: Deployment,
) -> None:
    seq = track_seq(written, "radar/I-2")
    (body,) = written.rows("SELECT body FROM event_log WHERE seq = :seq", seq=seq)[0]
    moved = json.loads(body)
    moved["lon"] = round(moved["lon"] + 0.06, 6)  # the attack of the issue: 0.06 degrees east
    written.execute(
        "UPDATE event_log SET body = :body WHERE seq = :seq",
        body=json.dumps(moved, separators=(",", ":")),
        seq=seq,
    )
    text = refused_start(written)
    assert f"event {seq}" in text, text
    status, text = verify(written)
    assert status != 0 and f"event {seq}" in text, text


def test_a_changed_decision_breaks_the_seal_of_its_event(written: Deployment) -> None:
    (seq, event_seq) = written.rows("SELECT seq, event_seq FROM decision_log ORDER BY seq")[0]
    written.execute("UPDATE decision_log SET level = 'clear' WHERE seq = :seq", seq=seq)
    assert f"event {event_seq}" in refused_start(written)


def test_an_event_dropped_from_the_middle_is_named(written: Deployment) -> None:
    seq = track_seq(written, "radar/I-1")
    written.execute("DELETE FROM decision_log WHERE event_seq = :seq", seq=seq)
    written.execute("DELETE FROM cap_message WHERE event_seq = :seq", seq=seq)
    written.execute("DELETE FROM event_log WHERE seq = :seq", seq=seq)
    assert f"event {seq}" in refused_start(written)


def test_events_cut_from_the_end_are_noticed(written: Deployment) -> None:
    seqs = event_seqs(written)
    cut = seqs[-2]
    for table, column in (
        ("decision_log", "event_seq"),
        ("cap_message", "event_seq"),
        ("event_log", "seq"),
    ):
        written.execute(f"DELETE FROM {table} WHERE {column} >= :seq", seq=cut)
    text = refused_start(written)
    assert str(seqs[-1]) in text and "end" in text, text
    # an operator who restored a backup on purpose says so once; then it starts
    status, text = verify(written, "--accept-end")
    assert status == 0, text
    written.server.start()
    written.server.stop()


def sqlite_written(launcher: Launcher, folder: Path, events: int = 20) -> Deployment:
    served = Deployment(launcher, folder, f"sqlite:///{folder / 'airwarn.db'}")
    served.token("sensor", "radar")
    served.server.start()
    for i in range(events):
        served.post("radar", drone(f"X-{i}", 0.01 * i))
    served.server.stop()
    return served


def test_a_truncated_sqlite_file_gives_a_clear_message(launcher: Launcher, tmp_path: Path) -> None:
    served = sqlite_written(launcher, tmp_path)
    path = tmp_path / "airwarn.db"
    with sqlite3.connect(path) as db:  # as a clean stop leaves it: everything in the file
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with path.open("r+b") as file:
        file.truncate(path.stat().st_size // 2)
    text = refused_start(served)
    assert "airwarn.db" in text and "truncated" in text, text
    status, text = verify(served)
    assert status != 0 and "airwarn.db" in text and "truncated" in text, text


def test_a_wiped_store_is_not_taken_for_a_new_one(launcher: Launcher, tmp_path: Path) -> None:
    served = sqlite_written(launcher, tmp_path, events=3)
    for name in ("airwarn.db", "airwarn.db-wal", "airwarn.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    text = refused_start(served)
    assert "wiped" in text and "accept-end" in text, text
    # a new store on purpose: said once, then it starts afresh
    status, text = verify(served, "--accept-end")
    assert status == 0, text
    served.server.start()
    served.server.stop()


def test_store_and_key_files_are_private(launcher: Launcher, tmp_path: Path) -> None:
    os.umask(0o022)  # the usual umask, under which files are made world-readable
    with store_at("sqlite", tmp_path) as db:
        served = Deployment(launcher, tmp_path, db)
        served.token("sensor", "radar")
        served.server.start()
        try:
            assert served.post("radar", drone("P-1")).status_code == 200
            files = [
                tmp_path / "airwarn.db",
                tmp_path / "airwarn.db-wal",
                *sorted(p for p in served.keys.iterdir() if "cert" not in p.name),
            ]
            for path in files:
                mode = stat.S_IMODE(path.stat().st_mode)
                assert mode & 0o077 == 0, f"{path.name} is {oct(mode)}"
            assert stat.S_IMODE(served.keys.stat().st_mode) & 0o077 == 0
        finally:
            served.server.stop()


def test_webhook_and_push_secrets_are_not_kept_in_plain_text(
    launcher: Launcher, tmp_path: Path
) -> None:
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from airwarn.store.secrets import load_store_keys

    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    auth = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
    with store_at("sqlite", tmp_path) as db:
        served = Deployment(launcher, tmp_path, db)
        served.token("admin", "root")
        served.server.start()
        try:
            with served.http("root") as http:
                hook = http.post(
                    "/v1/webhooks",
                    json={"name": "siren vendor", "url": "https://93.184.216.34/hook"},
                )
                assert hook.status_code == 201, hook.text
                secret = hook.json()["secret"]
                push = http.post(
                    "/v1/push/subscriptions",
                    json={
                        "endpoint": "https://fcm.googleapis.com/fcm/send/secret-test",
                        "keys": {
                            "p256dh": base64.urlsafe_b64encode(point).decode().rstrip("="),
                            "auth": auth,
                        },
                        "zones": ["r0c0"],
                    },
                )
                assert push.status_code == 201, push.text
        finally:
            served.server.stop()
        raw = b"".join(
            p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("airwarn.db")
        )
        assert secret.encode() not in raw and auth.encode() not in raw
        (stored,) = served.rows("SELECT secret FROM webhook_subscriber")[0]
        (stored_auth,) = served.rows("SELECT auth FROM push_subscription")[0]
        box = load_store_keys(served.keys).secrets
        assert box.open(stored) == secret and box.open(stored_auth) == auth


def test_a_store_from_before_the_seal_is_sealed_once_and_guarded_from_then_on(
    launcher: Launcher, tmp_path: Path
) -> None:
    served = sqlite_written(launcher, tmp_path, events=3)
    # as a store written before migration 0005 looks once upgraded: no seals, no store id,
    # and no record of its end beside the key
    served.execute("UPDATE event_log SET hash = NULL")
    served.execute("DELETE FROM service_meta WHERE key IN ('store_id', 'seal_key_id')")
    for record in served.keys.glob("log-head-*"):
        record.unlink()
    status, text = verify(served)
    assert status != 0 and "no seal yet" in text, text
    served.server.start()
    served.server.stop()
    assert all(h is not None for (h,) in served.rows("SELECT hash FROM event_log"))
    status, text = verify(served)
    assert status == 0, text
    # from now on an edit is caught, and an event stripped of its seal too
    seq = event_seqs(served)[0]
    served.execute("UPDATE event_log SET hash = NULL WHERE seq = :seq", seq=seq)
    assert f"event {seq}" in refused_start(served)
