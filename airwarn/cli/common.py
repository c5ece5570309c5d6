"""What every command shares: the error printer, the exit codes and the --db option.

Exit codes: 0 done; `USAGE` (2) when the command line or what it names is wrong (a bad flag
value, a missing file, a store that refuses: fix it and run again); `FAILURE` (1) when a
right command failed on the way (an invalid line in the middle of an input, a check that
found a broken seal, an unexpected error); `INTERRUPTED` (130) on Ctrl-C.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from airwarn.errors import AirwarnError, ContractError, SettingError

USAGE = 2
FAILURE = 1
INTERRUPTED = 130

err = Console(stderr=True)

DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="AIRWARN_DB",
        help="The store: sqlite:///FILE (default sqlite:///airwarn.db) or "
        "postgresql://user@host:5432/db. Also read from AIRWARN_DB.",
    ),
]


LOG_LEVELS = ("debug", "info", "warning", "error")


def configure_logging(level: str = "warning") -> None:
    """The one place logging is set up: every module logs to `logging.getLogger(__name__)`,
    and a long-running command (`serve`) calls this once, before it builds anything. The
    level is airwarn's own; the libraries below it speak from warnings up."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("airwarn").setLevel(level.upper())


def flag(setting: str) -> str:
    """The command-line flag of a setting: inbound_cap -> --inbound-cap."""
    return "--" + setting.replace("_", "-")


def describe(error: object, flags: Mapping[str, str] | None = None) -> str:
    """An error as the command line says it: a setting's error names its flag (the library
    below names the setting only, `airwarn.errors.SettingError`), and so does an input error
    about a field a command took from a flag, given as `flags` (`{"role": "--role"}`)."""
    if (
        isinstance(error, ContractError)
        and error.line is None
        and error.field is not None
        and error.field in (flags or {})
    ):
        return f"{(flags or {})[error.field]}: {error.message}"
    if isinstance(error, SettingError):
        text = f"{flag(error.setting)}: {error.message}"
        if error.needs:
            text += (
                " (give "
                + ", ".join(f"{flag(name)} {value}" for name, value in error.needs.items())
                + ")"
            )
        return text
    return str(error)


def file_error(option: str, path: object, error: OSError) -> AirwarnError:
    """An input or output file that cannot be opened, named by the flag that gave it:
    `--events nope.jsonl: no such file or directory`."""
    reason = (error.strerror or str(error)).lower()
    return AirwarnError(f"{option} {path}: {reason}")


def say_error(error: object, flags: Mapping[str, str] | None = None) -> None:
    """Print `error: ...` on stderr, the one way every command reports one."""
    text = escape(describe(error, flags))
    err.print(f"[bold red]error:[/] {text}", highlight=False, soft_wrap=True)


def fail(error: object, code: int = USAGE, flags: Mapping[str, str] | None = None) -> typer.Exit:
    """Report `error` and give the exit to raise: `raise fail(error) from None`. `flags`: the
    flag (or argument) each input field came from, for the message to name it."""
    say_error(error, flags)
    return typer.Exit(code)
