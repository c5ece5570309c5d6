"""Answers tell the truth: a batch with nothing accepted is a 422, an Idempotency-Key reused
for another body is refused by name, and a line taken but ignored says why. Against a running
`airwarn serve` on SQLite and PostgreSQL (finding 10 of issue 11)."""

from __future__ import annotations

import json

from .conftest import Deployment, drone, ended


def test_a_batch_whose_every_line_is_rejected_answers_422(deployment: Deployment) -> None:
    deployment.token("sensor", "radar-answers")
    with deployment.http("radar-answers") as http:
        answer = http.post("/v1/events", content=b'not json\n{"type":"track"}\n')
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["accepted"] == 0
    assert [r["line"] for r in body["rejected"]] == [1, 2]
    assert "error" in body


def test_a_mixed_batch_is_taken_with_each_bad_line_named(deployment: Deployment) -> None:
    deployment.token("sensor", "radar-answers")
    with deployment.http("radar-answers") as http:
        answer = http.post("/v1/events", content=json.dumps(drone("A-mixed")) + "\nnope\n")
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 1 and answer.json()["rejected"][0]["line"] == 2


def test_an_idempotency_key_reused_for_another_body_is_refused_by_name(
    deployment: Deployment,
) -> None:
    deployment.token("sensor", "radar-answers")
    first_batch = drone("A-key")
    first = deployment.post("radar-answers", first_batch, **{"Idempotency-Key": "batch-77"})
    assert first.status_code == 200 and first.json()["accepted"] == 1, first.text
    again = deployment.post("radar-answers", first_batch, **{"Idempotency-Key": "batch-77"})
    assert again.status_code == 200 and again.json()["replayed"] is True
    other = deployment.post("radar-answers", drone("A-key", 0.5), **{"Idempotency-Key": "batch-77"})
    assert other.status_code == 422, other.text
    assert "batch-77" in other.json()["error"]
    stored = deployment.rows("SELECT count(*) FROM event_log WHERE body LIKE '%A-key%'")
    assert stored[0][0] == 1, "the refused body must not be applied"


def test_a_duplicate_report_is_taken_and_said_to_change_nothing(deployment: Deployment) -> None:
    deployment.token("sensor", "radar-answers")
    report = drone("A-dup", lat=31.6, lon=34.7)
    answer = deployment.post("radar-answers", report, report)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["accepted"] == 2
    (ignored,) = body["ignored"]
    assert ignored["line"] == 2 and "duplicate" in ignored["why"]


def test_reports_and_ends_after_a_threats_end_say_why_they_change_nothing(
    deployment: Deployment,
) -> None:
    deployment.token("sensor", "radar-answers")
    assert deployment.post("radar-answers", drone("A-end")).json()["accepted"] == 1
    done = deployment.post("radar-answers", ended("A-end", 0.1))
    assert done.status_code == 200 and not done.json().get("ignored"), done.text
    late = deployment.post("radar-answers", drone("A-end", 0.2), ended("A-end", 0.3))
    assert late.status_code == 200, late.text
    whys = {i["line"]: i["why"] for i in late.json()["ignored"]}
    assert set(whys) == {1, 2}
    assert all("ended" in why for why in whys.values()), whys
