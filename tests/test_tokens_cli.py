"""`airwarn tokens`: a stolen token is replaced under its name (threat ids, audit entries and CAP
senders hang on the name), a live name is refused saying what to do, and errors name the flag."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from airwarn.cli.tokens import app
from airwarn.store import connect, migrate
from airwarn.store.tokens import find_client, list_tokens

runner = CliRunner()


def _tokens(url: str, *args: str):
    return runner.invoke(app, [*args, "--db", url])


def test_a_revoked_token_is_replaced_under_its_name(store_url) -> None:
    first = _tokens(store_url, "create", "--role", "sensor", "--name", "radar-tmp")
    assert first.exit_code == 0, first.output
    assert _tokens(store_url, "revoke", "radar-tmp").exit_code == 0

    again = _tokens(store_url, "create", "--role", "sensor", "--name", "radar-tmp")
    assert again.exit_code == 0, again.output
    engine = connect(store_url)
    old, new = first.stdout.strip().splitlines()[-1], again.stdout.strip().splitlines()[-1]
    assert find_client(engine, old) is None
    client = find_client(engine, new)
    assert client is not None and (client.name, client.role) == ("radar-tmp", "sensor")
    rows = list_tokens(engine)  # the revoked one keeps its history, the new one stands
    assert [(r["name"], r["revoked_ms"] is not None) for r in rows] == [
        ("radar-tmp", True),
        ("radar-tmp", False),
    ]
    listed = _tokens(store_url, "list")
    assert listed.exit_code == 0 and listed.stdout.count("radar-tmp") == 2
    # and the replacement is revoked alone, naming the same name
    assert _tokens(store_url, "revoke", "radar-tmp").exit_code == 0
    assert find_client(engine, new) is None
    engine.dispose()


def test_a_live_name_is_refused_saying_to_revoke_it_first(store_url) -> None:
    assert _tokens(store_url, "create", "--role", "sensor", "--name", "radar-1").exit_code == 0
    twice = _tokens(store_url, "create", "--role", "sensor", "--name", "radar-1")
    assert twice.exit_code == 2
    assert "`airwarn tokens revoke radar-1`" in " ".join(twice.output.split())


def test_a_store_of_the_older_schema_replaces_a_revoked_token_after_upgrade(store_url) -> None:
    # api_token.name was unique over revoked tokens too (0008 and before)
    engine = connect(store_url)
    migrate(engine, "0008_kind_width")
    insert = sa.text(
        "INSERT INTO api_token (name, role, token_sha256, created_ms, revoked_ms) "
        "VALUES ('radar-tmp', 'sensor', :sha, 1, :revoked)"
    )
    with engine.begin() as db:
        db.execute(insert, {"sha": "a" * 64, "revoked": 2})
    engine.dispose()

    made = _tokens(store_url, "create", "--role", "sensor", "--name", "radar-tmp")
    assert made.exit_code == 0, made.output
    engine = connect(store_url)
    assert [r["revoked_ms"] for r in list_tokens(engine)] == [2, None]
    # two live tokens of one name the store itself refuses
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as db:
        db.execute(insert, {"sha": "b" * 64, "revoked": None})
    engine.dispose()


def test_token_errors_name_the_flag_that_gave_the_value(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    said = {
        "role": _tokens(url, "create", "--role", "nobody", "--name", "x"),
        "sender": _tokens(url, "create", "--role", "sensor", "--cap-sender", "no spaces ok"),
        "revoke": _tokens(url, "revoke", "nobody-here"),
    }
    assert _tokens(url, "create", "--role", "sensor", "--name", "radar-1").exit_code == 0
    said["name"] = _tokens(url, "create", "--role", "sensor", "--name", "radar-1")
    text = {what: " ".join(result.output.split()) for what, result in said.items()}
    assert all(result.exit_code == 2 for result in said.values()), text
    assert all("field " not in line for line in text.values()), text
    assert text["role"].startswith("error: --role: unknown role 'nobody'")
    assert text["sender"].startswith("error: --cap-sender: ")
    assert text["name"].startswith("error: --name: a live token is named 'radar-1'")
    assert text["revoke"].startswith("error: NAME: no active token named 'nobody-here'")
