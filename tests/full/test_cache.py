"""Warm and cold cache modes really warm and empty PostgreSQL's buffers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.config import RunConfig
from bench.errors import ConfigError
from bench.runner.run.pipeline import run


def _run(tmp_path: Path, cache: str) -> dict:
    cfg = RunConfig(scale=0.01, seed=2, rounds=2, aa_rounds=0, warmup=1, write_rounds=0,
                    crosscheck_rounds=0, shapes=("fk_join", "platform_timeline"),
                    cache=cache, out=tmp_path / cache, progress=False)
    run(cfg, echo=lambda _line: None)
    return json.loads((tmp_path / cache / "results.json").read_text())


def test_cold_rounds_read_from_disk_and_warm_rounds_do_not(tmp_path: Path) -> None:
    cold, warm = _run(tmp_path, "cold"), _run(tmp_path, "warm")
    assert cold["cache"]["mode"] == "cold" and "restarted" in cold["cache"]["note"]
    assert warm["cache"]["pg_prewarm"] is True
    for q in cold["queries"]:
        # After a restart shared buffers are empty: every round reads blocks in.
        assert q["before"]["shared_read_median"] > 0, q["name"]
        assert q["after"]["shared_read_median"] > 0, q["name"]
    for q in warm["queries"]:
        assert q["before"]["shared_read_median"] == 0, q["name"]
    assert "cold cache" in (tmp_path / "cold" / "report.md").read_text()


def test_cold_cache_refuses_a_foreign_server() -> None:
    with pytest.raises(ConfigError, match="embedded"):
        RunConfig(cache="cold", dsn="postgresql://u@127.0.0.1:5/db")
