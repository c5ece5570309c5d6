"""`airwarn history` from the command line: the two commands from histories to a report, stats,
exports, help that teaches, and user errors that name the file, line and field and exit 2."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from conftest import DATA_MISSING
from typer.testing import CliRunner

from airwarn.cli.history import app

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=DATA_MISSING)
runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def head(source: Path, target: Path, lines: int) -> Path:
    """The first `lines` data rows of a history, in the same folder layout as the data."""
    import gzip

    opener = gzip.open if source.suffix == ".gz" else open
    with opener(source, "rt", encoding="utf-8", newline="") as handle:
        text = [next(handle) for _ in range(lines + 1)]
    target.parent.mkdir(parents=True, exist_ok=True)
    with opener(target, "wt", encoding="utf-8", newline="") as handle:
        handle.writelines(text)
    return target


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A data folder with the first rows of every history (the layers read from DATA) and a
    store with them imported through `airwarn history import all`."""
    if not DATA.is_dir():
        pytest.skip(DATA_MISSING)
    root = tmp_path_factory.mktemp("data")
    for path in sorted(DATA.glob("*/alerts/*")):
        head(path, root / path.relative_to(DATA), 1500)
    for layer in (
        "ukraine/ua_oblasts.geojson",
        "ukraine/ua_raions.geojson",
        "ukraine/ua_hromadas.geojson",
        "ukraine/ua_alarm_regions_crosswalk.csv",
        "israel/israel_alert_areas.geojson",
    ):
        (root / layer).symlink_to(DATA / layer)
    db = str(root / "airwarn.db")
    code, _, err = run("import", "all", str(root), "--db", db)
    assert code == 0, err
    assert err.count("Imported") == 5
    return root, db


@needs_data
def test_import_all_then_reimport_changes_nothing(small) -> None:
    root, db = small
    code, _, err = run("import", "all", str(root), "--db", db)
    assert code == 0 and err.count("nothing changed") == 5


@needs_data
def test_sources_list_match_rates(small) -> None:
    _, db = small
    code, out, _ = run("sources", "--db", db, "--notes")
    assert code == 0
    assert "ukraine-official" in out and "israel-eranyariv" in out and "swapped" in out


@needs_data
def test_stats_print_figures_with_method_and_limits(small) -> None:
    _, db = small
    code, out, _ = run(
        "stats", "--db", db, "--source", "ukraine-official", "--by", "region", "--format", "json"
    )
    assert code == 0
    document = json.loads(out)
    assert document["rows"] and {"alerts", "hours", "night", "quiet_days"} <= set(
        document["rows"][0]
    )
    assert any("Night" in line for line in document["method"])
    code, out, _ = run("stats", "--db", db, "--source", "israel-eranyariv", "--by", "month")
    assert code == 0 and "ASSUME 10 minutes" in out


@needs_data
def test_compare_report_and_exports(small, tmp_path: Path) -> None:
    _, db = small
    code, out, _ = run("compare", "--db", db)
    assert code == 0 and "Limit:" in out and "areas per alert" in out.lower()
    code, _, err = run("report", "--db", db, "--out", str(tmp_path / "report"))
    assert code == 0, err
    page = (tmp_path / "report" / "index.html").read_text(encoding="utf-8")
    assert page.count("<svg") >= 6 and "Method." in page
    assert "http://" not in page.replace("http://www.w3.org", "") and "<script" not in page
    code, _, err = run("export", "--db", db, "--out", str(tmp_path / "x"))
    assert code == 0, err
    with (tmp_path / "x" / "alerts_ukraine-official.csv").open(encoding="utf-8") as handle:
        exported = list(csv.DictReader(handle))
    assert len(exported) == 1500 and exported[0]["started_utc"].endswith("Z")
    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / "x" / "alerts_ukraine-official.parquet").num_rows == 1500


def test_help_teaches_with_the_real_paths() -> None:
    code, out, _ = run("--help")
    assert code == 0 and "airwarn history import all ../shared/data" in out
    code, out, _ = run("import", "ukraine-official", "--help")
    assert code == 0 and "official_data_en_upto_2024-04-23.csv" in out
    code, out, _ = run("stats", "--help")
    assert code == 0 and "--by" in out


def test_a_missing_file_is_a_user_error(tmp_path: Path) -> None:
    code, _, err = run(
        "import", "ukraine-official", str(tmp_path / "nope.csv"), "--db", str(tmp_path / "a.db")
    )
    assert code == 2 and "nope.csv" in err and "Traceback" not in err


@needs_data
def test_a_wrong_file_names_line_and_field(tmp_path: Path) -> None:
    wrong = tmp_path / "ukraine" / "alerts" / "x.csv"
    wrong.parent.mkdir(parents=True)
    wrong.write_text("region,started_at,finished_at,naive\n", encoding="utf-8")
    code, _, err = run(
        "import",
        "ukraine-official",
        str(wrong),
        "--db",
        str(tmp_path / "a.db"),
        "--layers",
        str(DATA / "ukraine"),
        "--crosswalk",
        str(DATA / "ukraine/ua_alarm_regions_crosswalk.csv"),
    )
    assert code == 2
    assert "x.csv, line 1, field oblast" in " ".join(err.split())


@needs_data
def test_a_bad_time_names_the_line_and_the_fix(tmp_path: Path) -> None:
    bad = tmp_path / "ukraine" / "alerts" / "v.csv"
    bad.parent.mkdir(parents=True)
    bad.write_text(
        "region,started_at,finished_at,naive\n"
        "Kyiv City,2022-02-25 16:36:22+00:00,2022-02-25 17:06:22+00:00,True\n"
        "Kyiv City,yesterday,2022-02-25 17:06:22+00:00,False\n",
        encoding="utf-8",
    )
    code, _, err = run(
        "import",
        "ukraine-volunteer",
        str(bad),
        "--db",
        str(tmp_path / "a.db"),
        "--layers",
        str(DATA / "ukraine"),
        "--crosswalk",
        str(DATA / "ukraine/ua_alarm_regions_crosswalk.csv"),
    )
    text = " ".join(err.split())
    assert code == 2 and "v.csv, line 3, field started_at" in text and "'yesterday'" in text


def test_stats_without_a_store_or_source_say_what_to_do(tmp_path: Path) -> None:
    code, _, err = run("stats", "--db", str(tmp_path / "none.db"), "--source", "x")
    assert code == 2 and "import histories first" in " ".join(err.split())
