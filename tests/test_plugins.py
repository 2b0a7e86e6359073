"""A third-party connector, installed as a real distribution with an entry point, is
found by step type, validated with its family's parameters and run by the engine."""

from __future__ import annotations

import importlib
import sqlite3
import sys
import textwrap

import pytest

from jupyter_offline_pipeline.connectors import DataSource, get_connector, load_plugins, step_types
from jupyter_offline_pipeline.engine import Job, run_job
from jupyter_offline_pipeline.script import validate_script

PLUGIN = '''
import pyarrow as pa
from jupyter_offline_pipeline.connectors import Connector, Reader, ReadTask


class Squares(ReadTask):
    def __init__(self, low, high):
        self.low, self.high = low, high

    def read(self):
        ids = pa.array(range(self.low, self.high), pa.int64())
        yield pa.RecordBatch.from_arrays([ids, pa.compute.multiply(ids, ids)], names=["n", "square"])


class SquaresReader(Reader):
    """path is 'squares:N': the numbers below N and their squares, split in halves."""

    def split(self, channels):
        n = int(self.parameter["path"].split(":")[1])
        return [Squares(0, n // 2), Squares(n // 2, n)]


class SquaresConnector(Connector):
    step_type = "squares"
    family = "file"
    reader = SquaresReader
'''


@pytest.fixture
def installed_plugin(tmp_path, monkeypatch):
    (tmp_path / "squares_plugin.py").write_text(textwrap.dedent(PLUGIN))
    dist = tmp_path / "squares_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: squares-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[jupyter_offline_pipeline.connectors]\nsquares = squares_plugin:SquaresConnector\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    yield
    sys.modules.pop("squares_plugin", None)


def test_plugin_step_type_validates_and_runs(installed_plugin, tmp_path):
    load_plugins()
    assert "squares" in step_types()
    assert get_connector("squares").family == "file"
    target = tmp_path / "t.db"
    with sqlite3.connect(target) as conn:
        conn.execute("create table sq (n integer, square integer)")
    script = f"""{{
      "type": "job", "version": "2.0",
      "steps": [
        {{"stepType": "squares", "category": "reader", "name": "R", "parameter": {{"path": "squares:1000"}}}},
        {{"stepType": "sqlite", "category": "writer", "name": "W",
          "parameter": {{"datasource": "t", "table": "sq", "column": ["n", "square"]}}}}
      ],
      "setting": {{"speed": {{"concurrent": 2}}}},
      "order": {{"hops": [{{"from": "R", "to": "W"}}]}}
    }}"""
    assert [d for d in validate_script(script) if d.severity == "error"] == []
    import json

    lookup = {"t": DataSource("t", "sqlite", {"path": str(target)})}
    summary = run_job(Job(json.loads(script), lookup.__getitem__))
    assert summary.status == "success", summary.error
    with sqlite3.connect(target) as conn:
        assert conn.execute("select count(*), sum(square) from sq").fetchone() == (
            1000, sum(n * n for n in range(1000)))
