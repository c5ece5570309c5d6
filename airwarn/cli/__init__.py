"""The `airwarn` command line: one module per command group, wired here.

Every command reports errors the same way and exits 2 on a usage error, 1 on a failure
(`airwarn.cli.common`). `airwarn.cli_gateway` (gateway, asterix) joins the package later.
"""

from __future__ import annotations

import typer

from airwarn import cli_gateway
from airwarn.cli import demo, drill, follow, history, offline, serve, store, tokens, trust, zones
from airwarn.cli.helptext import plain

app = typer.Typer(
    help="airwarn: localized early warning for air threats.\n\n"
    "Turns sensor tracks and operator actions (Contract v1 events) into warnings for exactly "
    "the zones in danger, each early enough for its people to reach shelter.\n\n"
    "Examples:\n\n"
    "airwarn demo\n\n"
    "airwarn serve --zones israel\n\n"
    "airwarn zones export israel --out zones-il.geojson\n\n"
    "airwarn simulate --zones zones-il.geojson --scenario rockets --out sim/",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(zones.app, name="zones")
app.add_typer(history.app, name="history")
app.add_typer(tokens.app, name="tokens")
app.add_typer(trust.app, name="trust")
app.add_typer(cli_gateway.gateway_app, name="gateway")
app.add_typer(cli_gateway.asterix_app, name="asterix")
app.add_typer(store.app, name="store")
app.command()(serve.serve)
app.command()(follow.follow)
app.command()(offline.replay)
app.command()(offline.simulate)
app.command()(offline.evaluate)
app.command()(demo.demo)
app.command()(drill.drill)


@app.callback()
def _main() -> None:
    """airwarn: localized early warning for air threats."""


def main() -> None:
    app()


plain(app)  # every command's help as click shows it, at any width (`helptext`)
