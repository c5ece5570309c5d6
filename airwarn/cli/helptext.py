"""Every command's `--help` as plain text that reads well at any width and copies as it runs.

The docstrings are written for the source (wrapped at 95 columns, an example command broken
where the line ran out). Before the help is shown, `plain` turns each app's help to click's
own format (full flag names, however narrow the terminal, where the panels cut them short)
and `tidy` rewrites each text: prose paragraphs are left for click to wrap to the terminal
(never at a hyphen inside a word: `HelpFormatter`);
a paragraph with commands in it keeps one command to a line, each joined back from the lines
it was broken over and broken again where it must be, with a shell's `\\`, so that a command
copied from the help runs.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

import typer
from typer.core import TyperCommand, TyperGroup
from typer.models import DefaultPlaceholder

if TYPE_CHECKING:
    from typer._click.formatting import HelpFormatter as ClickHelpFormatter
else:  # the help formatter of typer's commands: click's, or the copy of click typer carries
    ClickHelpFormatter = typer.Context.formatter_class

# a line that starts a command: `airwarn ...`, or one with an environment variable before it
_COMMAND = re.compile(r"^(?:[A-Z][A-Z0-9_]*=\S*\s+)*airwarn(?:\s+[a-z]|$)")
_LABEL = re.compile(r"^(Examples?:)\s+(.*)$")
# a shell word, its quoted parts whole: a line is never broken inside quotes
_WORD = re.compile(r"""(?:[^\s'"]+|'[^']*'|"[^"]*")+""")
# an example's lines, at most this wide: they sit 2 columns in, and 80 columns is the narrowest
# terminal the help is written for (`tests/test_cli_help.py`)
WIDTH = 76
# a hyphen inside a word (`ukraine-raions`, `--pass-hold-s`, `all-clears`): wrapped as this
# non-breaking one, so a name is never broken at its hyphen, then written back as `-`
_GLUE = "\u2011"
_INNER_HYPHEN = re.compile(r"(?<=\w)-(?=\w)")


def tidy(text: str) -> str:
    """A help text with its commands one to a line (see the module's docstring)."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(_paragraph(p) for p in paragraphs)


def _paragraph(paragraph: str) -> str:
    lines: list[str] = []
    for line in paragraph.splitlines():
        line = line.strip()
        label = _LABEL.match(line)
        if label and _COMMAND.match(label.group(2)):
            lines += [label.group(1), label.group(2)]
        else:
            lines.append(line)
    if not any(_COMMAND.match(line) for line in lines):
        return paragraph  # prose: click wraps it to the terminal
    out: list[str] = []
    command: list[str] = []
    for line in lines:
        if _COMMAND.match(line):
            if command:
                out += _broken(" ".join(command))
            command = [line]
        elif command and not line.startswith("("):
            command.append(line)  # the rest of a command broken over lines
        elif command:  # a remark on it, on a line of its own
            out += [*_broken(" ".join(command)), line]
            command = []
        else:
            out.append(line)  # a heading before the commands
    if command:
        out += _broken(" ".join(command))
    return "\b\n" + "\n".join(out)  # \b: click leaves the paragraph's lines as they are


def _broken(command: str) -> list[str]:
    """A command over lines of at most WIDTH columns, each but the last ending in ` \\`, a
    flag never apart from its value."""
    if len(command) <= WIDTH:
        return [command]
    pieces: list[str] = []
    for word in _WORD.findall(command):
        last = pieces[-1] if pieces else ""
        if last.startswith("-") and " " not in last and not word.startswith("-"):
            pieces[-1] += " " + word  # a flag's value
        else:
            pieces.append(word)
    lines = [pieces[0]]
    for piece in pieces[1:]:
        if len(lines[-1]) + 1 + len(piece) + 2 <= WIDTH:
            lines[-1] += " " + piece
        else:
            lines.append("    " + piece)
    return [line + " \\" for line in lines[:-1]] + lines[-1:]


def _glued(text: str) -> str:
    return _INNER_HYPHEN.sub(_GLUE, text)


class HelpFormatter(ClickHelpFormatter):
    """click's help formatter, which never breaks a line at a hyphen inside a word: a layer's
    name or a flag copied from the help is whole. (click's wrapping breaks `ukraine-raions`
    after `ukraine-` where the line runs out.)"""

    def write(self, string: str) -> None:
        super().write(string.replace(_GLUE, "-"))

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, _glued(args), prefix)

    def write_text(self, text: str) -> None:
        super().write_text(_glued(text))

    def write_dl(
        self, rows: Iterable[tuple[str, str]], col_max: int = 30, col_spacing: int = 2
    ) -> None:
        super().write_dl([(term, _glued(text)) for term, text in rows], col_max, col_spacing)


class _Context(typer.Context):
    formatter_class = HelpFormatter


class _Command(TyperCommand):
    context_class = _Context


class _Group(TyperGroup):
    context_class = _Context


def plain(app: typer.Typer) -> None:
    """Show the help of `app`, its commands and its groups as click does, each text tidied
    and wrapped by `HelpFormatter`."""
    app.rich_markup_mode = None
    if isinstance(app.info.cls, DefaultPlaceholder) or app.info.cls is TyperGroup:
        app.info.cls = _Group
    if isinstance(app.info.help, str):
        app.info.help = tidy(app.info.help)
    callback = app.registered_callback
    if callback is not None and callback.callback is not None and callback.help is None:
        callback.help = tidy(inspect.getdoc(callback.callback) or "")
    for command in app.registered_commands:
        text = command.help or inspect.getdoc(command.callback) or ""
        command.help = tidy(text)
        if command.cls in (None, TyperCommand):
            command.cls = _Command
    for group in app.registered_groups:
        if group.typer_instance is not None:
            plain(group.typer_instance)
