"""The layers hold: the engine core imports nothing from the edges, and no two top-level
packages import each other when loaded (docs/architecture.md draws the layers).

Read from the source with `ast`, so a lazy import inside a function counts for the core (it
would still drag I/O into the engine), while the cycle check counts the imports that run when
a module loads (a lazy import is how an edge reaches back on purpose, e.g. the CLI's
commands). ruff's banned-api rule (TID251 in pyproject.toml) says the same at lint time.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "airwarn"

# the pure core: no clock, no I/O, no randomness (DESIGN.md, "Inside the engine"): the
# `engine/` package whole, and the contract it speaks
CORE = ("engine", "contract")
EDGES = (
    "store",
    "web",
    "bus",
    "channels",
    "cap",
    "cli",
    "cli_gateway",
    "server",
    "service",
    "follow",
    "history",
    "layers",
    "sim",
    "gateway",
    "ports",
)
IO_PACKAGES = (
    "sqlalchemy",
    "alembic",
    "psycopg",
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "aiohttp",
    "asyncio",
    "socket",
    "nats",
    "aiomqtt",
    "typer",
    "rich",
    "time",
    "random",
    "secrets",
    "uuid",
    "threading",
    "subprocess",
    "urllib",
)


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(path: Path, *, lazy: bool) -> set[str]:
    """The absolute modules a file imports (`from airwarn import x` counts as airwarn.x),
    leaving out those under `if TYPE_CHECKING:`, and with `lazy` False those in functions."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) and not lazy:
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                found.add(child.module)
                if child.module == "airwarn":
                    found.update(f"airwarn.{alias.name}" for alias in child.names)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def _top(module: str) -> str:
    """The top-level unit a module belongs to: airwarn.web.compat.board -> web."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "airwarn"


def _is_core(module: str) -> bool:
    top = _top(module)
    return top in CORE or top == "engine"


def test_the_engine_core_imports_nothing_from_the_edges_and_no_io() -> None:
    core = {name: path for name, path in _modules().items() if _is_core(name)}
    expected = {"airwarn.contract", "airwarn.engine.zones", "airwarn.engine.policy"}
    assert expected <= set(core), sorted(core)
    broken = []
    for name, path in core.items():
        for imported in sorted(_imports(path, lazy=True)):
            root = imported.split(".")[0]
            if (root == "airwarn" and _top(imported) in EDGES) or root in IO_PACKAGES:
                broken.append(f"{name} imports {imported}")
    assert not broken, "the engine core must stay pure:\n" + "\n".join(broken)


def test_no_two_top_level_packages_import_each_other_at_load_time() -> None:
    edges: dict[str, dict[str, str]] = {}  # unit -> unit it imports -> one module that does
    for name, path in _modules().items():
        for imported in _imports(path, lazy=False):
            if imported.startswith("airwarn.") and _top(imported) != _top(name):
                edges.setdefault(_top(name), {}).setdefault(_top(imported), name)
    cycles = []
    for start in sorted(edges):
        # depth-first from each unit: a path that comes back to it is a cycle
        stack = [(start, [start])]
        while stack:
            unit, path = stack.pop()
            for nxt in sorted(edges.get(unit, {})):
                if nxt == start:
                    cycles.append(
                        " -> ".join(
                            f"{a} ({edges[a][b]})"
                            for a, b in zip(path, [*path[1:], start], strict=True)
                        )
                        + f" -> {start}"
                    )
                elif nxt not in path and nxt > start:  # each cycle once, from its least unit
                    stack.append((nxt, [*path, nxt]))
    assert not cycles, "import cycles between packages:\n" + "\n".join(cycles)


def test_the_layering_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    # the check itself can fail: a core module reaching the store is caught
    module = tmp_path / "engine.py"
    module.write_text("def f():\n    from airwarn.store import connect\n    import asyncio\n")
    found = _imports(module, lazy=True)
    assert "airwarn.store" in found and "asyncio" in found
    assert _top("airwarn.store") in EDGES
