"""stats.json without a server: array literals, stand-ins, the pg_dump reader, the command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.cli import main
from bench.errors import ConfigError
from bench.results import stats_dump
from bench.results.table_stats import (
    ColumnStats,
    StatsFile,
    parse_array,
    stand_ins,
    with_stand_ins,
)

ROOT = Path(__file__).resolve().parents[2]
DUMP = Path(__file__).parent / "fixtures" / "statistics-only.sql"
SECRETS = ["Wombat's x\"y,z", "Aardvark Ltd", "Badger Co", "Echidna Inc", "Wallaby Corp"]


def test_array_literals() -> None:
    assert parse_array('{a,"b c","x\\"y,z",NULL,"NULL", d }') == \
        ["a", "b c", 'x"y,z', None, "NULL", "d"]
    assert parse_array("{}") == []
    assert parse_array('{"{1,2}","{3}"}') == ["{1,2}", "{3}"]
    assert parse_array("[0:1]={7,8}") == ["7", "8"]
    with pytest.raises(ValueError):
        parse_array("7,8")


def test_stand_ins_keep_length_and_order() -> None:
    values = sorted(["Acme", "Acme Corp", "Bolt", "Zed", "", "a", "b", "Zyx Holdings Ltd"])
    words = stand_ins(values)
    assert [len(words[v]) for v in values] == [len(v) for v in values]
    assert [words[v] for v in values] == sorted(words.values())
    assert len(set(words.values())) == len(values)
    assert stand_ins(values) == words  # deterministic
    assert all(w.isalpha() and w.islower() for w in words.values() if w)


def test_stand_ins_stay_ordered_when_lengths_leave_no_room() -> None:
    # 60 one-character values cannot all have one-letter stand-ins: order wins, the last grow.
    values = [chr(0x100 + i) for i in range(60)]
    words = stand_ins(values)
    assert [words[v] for v in values] == sorted(words.values())
    assert len(set(words.values())) == len(values)
    lengths = [len(words[v]) for v in values]
    assert lengths == sorted(lengths) and lengths.count(1) == 26 and max(lengths) == 3
    # With room, every length is kept.
    values = [f"{i:03d}" for i in range(500)]
    assert all(len(w) == 3 for w in stand_ins(values).values())


def test_a_column_with_stand_ins() -> None:
    column = ColumnStats(name="company", kind="text", values="kept", null_frac=0.1,
                         avg_width=10, n_distinct=-0.5,
                         most_common_vals=["Zeta", "Alpha Co"], most_common_freqs=[0.2, 0.1],
                         histogram_bounds=["Beta", "Gamma Ltd", "Omega"], correlation=0.3)
    hidden = with_stand_ins(column)
    assert hidden.values == "stand-ins" and hidden.most_common_freqs == [0.2, 0.1]
    assert [len(v) for v in hidden.most_common_vals or []] == [4, 8]
    assert hidden.histogram_bounds == sorted(hidden.histogram_bounds or [])
    # Order across both lists: Alpha Co < Beta < ... < Omega < Zeta.
    assert (hidden.most_common_vals or [])[1] < (hidden.histogram_bounds or [])[0]
    assert (hidden.most_common_vals or [])[0] > (hidden.histogram_bounds or [])[-1]
    assert not set(SECRETS) & set(hidden.model_dump_json())


def test_the_dump_reader() -> None:
    stats = stats_dump.read(DUMP.read_text())
    assert (stats.source, stats.schema_name, stats.server_version) == ("pg_dump", "public", "18.6")
    (table,) = stats.tables  # the index (relation statistics only) is left out
    assert (table.name, table.reltuples, table.relpages) == ("t", 1000, 11)
    kinds = {c.name: (c.kind, c.values) for c in table.columns}
    assert kinds == {"id": ("number", "kept"), "mood": ("text", "stand-ins"),
                     "name": ("text", "stand-ins"), "ts": ("time", "kept")}
    name = table.column("name")
    assert name is not None and name.null_frac == 0.25 and name.n_distinct == -0.5
    assert name.most_common_freqs == [0.05, 0.01] and name.distinct_count(1000) == 500
    assert [len(v) for v in name.most_common_vals or []] == [14, 12]
    text = stats.model_dump_json()
    assert [s for s in SECRETS if s in text or json.dumps(s)[1:-1] in text] == []
    kept = stats_dump.read(DUMP.read_text(), keep_values=True)
    name = kept.table("t").column("name")  # type: ignore[union-attr]
    assert name is not None and name.most_common_vals == SECRETS[:2]
    assert name.histogram_bounds == SECRETS[2:]


def test_the_dump_reader_refuses_what_it_cannot_read() -> None:
    with pytest.raises(ConfigError, match="no pg_restore_relation_stats"):
        stats_dump.read("CREATE TABLE t (id int);", name="x.sql")
    with pytest.raises(ConfigError, match=r"no statistics for table.*nosuch"):
        stats_dump.read(DUMP.read_text(), tables={"t", "nosuch"})
    two = DUMP.read_text() + DUMP.read_text().replace("'public'", "'other'")
    with pytest.raises(ConfigError, match="several schemas"):
        stats_dump.read(two)
    assert stats_dump.read(two, schema="other").schema_name == "other"


def test_the_command_reads_a_dump_without_measuring_code(tmp_path: Path) -> None:
    out = tmp_path / "stats.json"
    code = (f"import sys\nfrom bench.cli import main\n"
            f"assert main(['stats', 'export', '--from-dump', {str(DUMP)!r}, '--out', "
            f"{str(out)!r}]) == 0\n"
            f"print(sorted(m for m in sys.modules if m.startswith(('bench.runner', 'psycopg'))))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, check=True, timeout=120)
    assert proc.stdout.strip() == "[]"
    assert "wrote" in proc.stderr and "stand-ins" in proc.stderr
    stats = StatsFile.model_validate_json(out.read_text())
    assert stats.schema_version == 1 and stats.values == "stand-ins"


def test_the_command_refuses_bad_input(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["stats", "export", "--out", str(tmp_path / "s.json")]) == 2
    assert capsys.readouterr().err.strip() == ("error: stats export needs --dsn URL (or "
                                               "$DATABASE_URL) or --from-dump FILE")
    assert main(["stats", "export", "--from-dump", str(tmp_path / "none.sql")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --from-dump") and len(err.splitlines()) == 1
