"""``jupyter pipeline ...`` end to end, in-process and as the real executable."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from jupyter_offline_pipeline.cli import main

PASSWORD = "cli-S3cret"


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    """Each test gets its own store and key (the Jupyter data dir moves both)."""
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter-data"))
    monkeypatch.delenv("JUPYTER_PIPELINE_DB_URL", raising=False)
    monkeypatch.delenv("JUPYTER_PIPELINE_ENCRYPTION_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def copy_script(tmp_path, capsys):
    with sqlite3.connect(tmp_path / "src.db") as conn:
        conn.execute("create table orders (id integer primary key, amount decimal(10,2), ds text)")
        conn.executemany("insert into orders values (?, ?, ?)",
                         [(i, i / 4, "20260101" if i % 2 else "20260102") for i in range(1, 1001)])
    with sqlite3.connect(tmp_path / "dst.db") as conn:
        conn.execute("create table ods (id integer primary key, amount decimal(10,2), ds text)")
    assert cli(capsys, "datasource", "add", "src", "--url", "sqlite:///src.db")[0] == 0
    assert cli(capsys, "datasource", "add", "dst", "--type", "sqlite", "--param", "path=dst.db")[0] == 0
    script = {
        "type": "job", "version": "2.0",
        "steps": [
            {"stepType": "sqlite", "category": "reader", "name": "Reader",
             "parameter": {"datasource": "src", "table": ["orders"], "column": ["id", "amount", "ds"],
                           "where": "ds = '${bizdate}'", "splitPk": "id"}},
            {"stepType": "sqlite", "category": "writer", "name": "Writer",
             "parameter": {"datasource": "dst", "table": "ods", "column": ["id", "amount", "ds"],
                           "preSql": ["delete from @table where ds = '${bizdate}'"]}},
        ],
        "setting": {"errorLimit": {"record": 0}, "speed": {"concurrent": 2}},
        "order": {"hops": [{"from": "Reader", "to": "Writer"}]},
    }
    path = tmp_path / "copy.pipeline.json"
    path.write_text(json.dumps(script, indent=2))
    return path


def test_run_copies_the_business_date_and_prints_the_summary(capsys, copy_script, tmp_path):
    code, out, _ = cli(capsys, "run", str(copy_script), "--bizdate", "20260101", "--json", "--quiet")
    summary = json.loads(out)
    assert code == 0
    assert summary["status"] == "success"
    assert summary["records_read"] == summary["records_written"] == 500
    for key in ("dirty_records", "bytes", "seconds", "records_per_second"):
        assert key in summary
    with sqlite3.connect(tmp_path / "dst.db") as conn:
        assert conn.execute("select count(*), min(ds), max(ds) from ods").fetchone() == (500, "20260101", "20260101")
    code, out, _ = cli(capsys, "run", str(copy_script), "--bizdate", "20260101", "--quiet")
    assert code == 0 and "Records written" in out and "SUCCESS" in out


def test_run_fails_with_exit_1_and_the_error(capsys, copy_script):
    copy_script.write_text(copy_script.read_text().replace('"ds = ', '"nope = '))
    code, out, _ = cli(capsys, "run", str(copy_script), "--bizdate", "20260101", "--json", "--quiet")
    assert code == 1
    summary = json.loads(out)
    assert summary["status"] == "failed" and "nope" in summary["error"]


def test_run_refuses_an_invalid_script_with_diagnostics(capsys, copy_script):
    copy_script.write_text(copy_script.read_text().replace('"datasource": "dst"', '"datasource": "gone"'))
    code, out, err = cli(capsys, "run", str(copy_script), "--quiet")
    assert code == 1
    assert "'gone' does not exist" in err
    assert "Traceback" not in err


def test_validate_prints_line_column_and_exit_code(capsys, copy_script):
    assert cli(capsys, "validate", str(copy_script))[0] == 0
    text = copy_script.read_text().replace('"writeMode"', '"x"').replace('"splitPk": "id"', '"splitPk": 5')
    copy_script.write_text(text)
    code, out, _ = cli(capsys, "validate", str(copy_script))
    assert code == 1
    line = next(l for l in out.splitlines() if "splitPk" in l)
    expected_line = next(i for i, l in enumerate(text.splitlines(), 1) if '"splitPk": 5' in l)
    assert line.startswith(f"{expected_line}:")
    assert "error" in line and "(/steps/0/parameter/splitPk)" in line
    code, out, _ = cli(capsys, "validate", str(copy_script), "--json")
    diagnostics = json.loads(out)
    assert code == 1
    assert {"severity", "message", "pointer", "line", "column", "source"} <= set(diagnostics[0])


def test_validate_knows_the_parameters_given(capsys, copy_script):
    copy_script.write_text(copy_script.read_text().replace("${bizdate}", "${region}"))
    assert cli(capsys, "validate", str(copy_script))[0] == 1
    assert cli(capsys, "validate", str(copy_script), "--param", "region=eu")[0] == 0


def test_datasource_commands_never_print_the_password(capsys):
    code, out, err = cli(capsys, "datasource", "add", "pg", "--url",
                         f"postgresql://root:{PASSWORD}@127.0.0.1:5432/test")
    assert code == 0 and PASSWORD not in out + err
    code, out, err = cli(capsys, "datasource", "list")
    assert "pg" in out and "postgresql" in out and PASSWORD not in out + err
    code, out, _ = cli(capsys, "datasource", "list", "--json")
    assert json.loads(out)[0]["params"]["password"] == "******"
    code, out, err = cli(capsys, "datasource", "remove", "pg")
    assert code == 0 and json.loads(cli(capsys, "datasource", "list", "--json")[1]) == []


def test_datasource_test_reports_ok_and_failure(capsys, tmp_path):
    cli(capsys, "datasource", "add", "here", "--url", "sqlite:///here.db")
    code, out, _ = cli(capsys, "datasource", "test", "here")
    assert code == 0 and "OK, SQLite 3." in out
    cli(capsys, "datasource", "add", "away", "--type", "sqlite", "--param", f"path={tmp_path}/no/such/dir/x.db")
    code, _, err = cli(capsys, "datasource", "test", "away")
    assert code == 1 and "FAILED" in err and "does not exist" in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["datasource", "add", "x", "--url", "oracle://h/d"], "unsupported URL scheme"),
        (["datasource", "add", "x", "--type", "postgresql", "--param", "host=h"], "needs database"),
        (["datasource", "add", "x", "--type", "mysql", "--url", "postgresql://u@h/d"], "does not match"),
        (["datasource", "add", "x", "--type", "sqlite", "--param", "oops"], "name=value"),
        (["datasource", "remove", "ghost"], "'ghost' does not exist"),
        (["run", "missing.json"], "cannot read missing.json"),
        (["run", "missing.json", "--bizdate", "2026-01-01"], "YYYYMMDD"),
    ],
)
def test_user_mistakes_are_one_clear_line(capsys, argv, message):
    code, _, err = cli(capsys, *argv)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_template_validates(capsys, tmp_path):
    code, out, _ = cli(capsys, "template", "--source", "mysql", "--target", "postgresql")
    assert code == 0
    script = json.loads(out)
    assert [s["stepType"] for s in script["steps"]] == ["mysql", "postgresql"]
    (tmp_path / "t.json").write_text(out)
    code, out, _ = cli(capsys, "validate", str(tmp_path / "t.json"), "--json")
    assert [d for d in json.loads(out) if d["severity"] == "error" and "datasource" not in d["pointer"]] == []


def test_template_introspects_columns(capsys, copy_script):
    code, out, _ = cli(capsys, "template", "--source", "sqlite", "--target", "sqlite",
                       "--source-datasource", "src", "--source-table", "orders",
                       "--target-datasource", "dst", "--target-table", "ods")
    script = json.loads(out)
    assert script["steps"][0]["parameter"]["column"] == ["id", "amount", "ds"]
    assert script["steps"][1]["parameter"]["table"] == "ods"


def test_convert_a_datax_job(capsys, tmp_path):
    job = {"job": {"setting": {"speed": {"channel": 3}}, "content": [{
        "reader": {"name": "sqlitereader", "parameter": {"datasource": "src", "column": ["id"],
                   "connection": [{"table": ["orders"], "jdbcUrl": ["jdbc:sqlite:/tmp/src.db"]}]}},
        "writer": {"name": "sqlitewriter", "parameter": {"datasource": "dst", "column": ["id"],
                   "connection": [{"table": ["ods"], "jdbcUrl": "jdbc:sqlite:/tmp/dst.db"}]}}}]}}
    (tmp_path / "datax.json").write_text(json.dumps(job))
    code, out, _ = cli(capsys, "convert", str(tmp_path / "datax.json"))
    script = json.loads(out)
    assert code == 0
    assert script["setting"]["speed"]["concurrent"] == 3
    assert script["steps"][0]["parameter"]["table"] == ["orders"]


def test_the_jupyter_pipeline_executable(data_dir):
    result = subprocess.run([sys.executable, "-m", "jupyter_offline_pipeline.cli", "datasource", "list", "--json"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
    result = subprocess.run(["jupyter", "pipeline", "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "validate" in result.stdout


def test_demo_creates_its_data_sources_and_runs_twice_to_the_same_result(capsys, tmp_path):
    import duckdb

    for _ in range(2):  # the second run reuses the data sources and replaces the rows
        code, out, _ = cli(capsys, "demo", "--dir", str(tmp_path / "demo"))
        assert code == 0, out
        assert "SUCCESS" in out and "Records written     : 100,000" in out
    names = [d["name"] for d in json.loads(cli(capsys, "datasource", "list", "--json")[1])]
    assert names == ["demo_shop", "demo_warehouse"]
    with duckdb.connect(str(tmp_path / "demo" / "warehouse.duckdb")) as conn:
        assert conn.execute("select count(*), count(distinct id) from ods_orders").fetchone() == (100_000, 100_000)


@pytest.mark.mariadb
@pytest.mark.postgres
def test_run_mariadb_to_postgresql_through_the_command_line(capsys, tmp_path, pg_db, mariadb_db):
    rows = [(i, f"名前 {i}", None if i % 7 == 0 else i * 2) for i in range(1, 2001)]
    src = mariadb_db.make_table("(id bigint PRIMARY KEY, name varchar(40), v int) CHARACTER SET utf8mb4", rows)
    dst = pg_db.make_table("(id bigint PRIMARY KEY, name varchar(40), v int)")
    cli(capsys, "datasource", "add", "maria", "--url", "mysql://root@127.0.0.1:3306/test")
    cli(capsys, "datasource", "add", "pg", "--url", "postgresql://root@127.0.0.1:5432/test")
    script = tmp_path / "m2p.json"
    script.write_text(cli(capsys, "template", "--source", "mysql", "--target", "postgresql",
                          "--source-datasource", "maria", "--source-table", src,
                          "--target-datasource", "pg", "--target-table", dst)[1])
    code, out, err = cli(capsys, "run", str(script), "--json", "--quiet")
    assert code == 0, err
    assert json.loads(out)["records_written"] == 2000
    assert pg_db.rows(f"SELECT * FROM {dst} ORDER BY id") == rows
