"""The OpenAPI document describes what each endpoint answers, not only what it takes: every
/v1 endpoint that answers JSON names the shape of its answer (`airwarn.answers`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from airwarn.server import ChannelSettings, ServerSettings, build


@pytest.fixture(scope="module")
def document(grid, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp: Path = tmp_path_factory.mktemp("openapi")
    server = build(
        ServerSettings(
            zones=grid,
            db=f"sqlite:///{tmp / 'a.db'}",
            keys=tmp / "keys",
            clock="events",
            channels=ChannelSettings(webhooks=True, push=True),
            follow=(),
        )
    )
    try:
        with TestClient(server.app) as http:
            answer = http.get("/openapi.json")
            assert answer.status_code == 200
            found: dict[str, Any] = answer.json()
            return found
    finally:
        server.service.db.dispose()


def _named(schema: dict[str, Any]) -> bool:
    """A schema that says what is in the answer: a named struct, or a list of them."""
    if "$ref" in schema:
        return True
    if schema.get("type") == "array":
        return _named(schema.get("items", {}))
    return False


def test_every_v1_endpoint_that_answers_json_names_its_answer(document) -> None:
    unnamed, checked = [], 0
    for path, operations in document["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                if not code.startswith("2"):
                    continue
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if schema is None:
                    continue
                checked += 1
                if not _named(schema):
                    unnamed.append(f"{method.upper()} {path} {code}: {schema}")
    assert checked >= 15
    assert unnamed == []


def test_the_answers_of_the_main_endpoints_are_their_structs(document) -> None:
    def answer(method: str, path: str, code: str = "200") -> dict[str, Any]:
        schema: dict[str, Any] = document["paths"][path][method]["responses"][code]["content"][
            "application/json"
        ]["schema"]
        return schema

    assert answer("post", "/v1/events")["$ref"].endswith("/IngestAnswer")
    assert answer("post", "/v1/events", "202")["$ref"].endswith("/Queued")
    assert answer("post", "/v1/actions")["$ref"].endswith("/ActionAnswer")
    assert answer("get", "/v1/alerts/active")["items"]["$ref"].endswith("/ActiveAlert")
    assert answer("get", "/v1/history")["$ref"].endswith("/HistoryPage")
    ingest = document["components"]["schemas"]["IngestAnswer"]
    assert {"accepted", "rejected", "ignored", "decisions"} <= set(ingest["required"])
