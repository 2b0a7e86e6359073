"""CSV, Parquet and JSON lines through the engine: round trips between every pair of
formats, CSV options, globs read by several channels, write modes, atomic writes and
bounded reads."""

from __future__ import annotations

import gzip
import itertools
import json

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from jupyter_offline_pipeline.connectors import DataSource, get_connector
from jupyter_offline_pipeline.connectors.files import type_name

FORMATS = ["csv", "parquet", "jsonl"]


def typed(schema: pa.Schema) -> list[dict]:
    return [{"name": f.name, "type": type_name(f.type)} for f in schema]


def read_back(fmt: str, path, column=None, **parameter) -> pa.Table:
    reader = get_connector(fmt).reader({"path": str(path), "column": column, **parameter}, None)
    batches = [batch for task in reader.split(1) for batch in task.read()]
    return pa.Table.from_batches(batches)


def ok(summary, rows: int) -> None:
    assert summary.status == "success", summary.error
    assert (summary.records_read, summary.records_written, summary.dirty_records) == (rows, rows, 0)


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("first, second", itertools.product(FORMATS, FORMATS))
def test_round_trip_between_formats(tmp_path, pipeline, edge_table, checksums, first, second):
    pq.write_table(edge_table, tmp_path / "seed.parquet")
    columns = typed(edge_table.schema)
    ok(pipeline("parquet", {"path": "seed.parquet"}, first, {"path": f"one.{first}"}), len(edge_table))
    summary = pipeline(
        first, {"path": f"one.{first}", "column": columns}, second, {"path": f"two.{second}"}, channels=2
    )
    ok(summary, len(edge_table))
    back = read_back(second, tmp_path / f"two.{second}", columns)
    assert back.schema.types == edge_table.schema.types
    assert checksums(back) == checksums(edge_table)
    assert leftovers(tmp_path) == []


def test_csv_text_conventions(tmp_path, pipeline, edge_table):
    pq.write_table(edge_table.slice(0, 6), tmp_path / "seed.parquet")
    ok(pipeline("parquet", {"path": "seed.parquet"}, "csv", {"path": "out.csv"}), 6)
    lines = (tmp_path / "out.csv").read_text().splitlines()
    assert lines[0] == '"id","i64","dec","f64","s","flag","d","ts","tz","bin"'
    # NULL is empty, '' is quoted; timestamps without 'T', zone-aware ones in UTC; base64 bytes
    assert lines[1].startswith('0,-9223372036854775808,"-9999999999999999999999999999.9999999999",')
    assert ',"",true,1900-01-01,1900-01-01 00:00:00.000001,1900-01-01 00:00:00.000001Z,"AAA="' in lines[1]
    assert ',,false,' in lines[2]
    assert '\n3,0,"0.0000000000",-0,' in "\n".join(lines) and "E-" not in "".join(lines)


def test_untyped_csv_columns_are_text(tmp_path, pipeline):
    (tmp_path / "in.csv").write_text('code,n\n007,1\n"",\n,3\n')
    ok(pipeline("csv", {"path": "in.csv"}, "parquet", {"path": "out.parquet"}), 3)
    back = pq.read_table(tmp_path / "out.parquet")
    assert back.schema.types == [pa.string(), pa.string()]
    assert back.to_pydict() == {"code": ["007", "", None], "n": ["1", None, "3"]}


def test_csv_delimiter_no_header_gzip_null_format(tmp_path, pipeline, edge_table, checksums):
    table = edge_table.select(["id", "s", "ts", "dec"])
    pq.write_table(table, tmp_path / "seed.parquet")
    options = {"fieldDelimiter": "|", "header": False, "compress": "gzip", "nullFormat": "\\N"}
    ok(pipeline("parquet", {"path": "seed.parquet"}, "csv", {"path": "out.txt", **options}), len(table))
    with gzip.open(tmp_path / "out.txt", "rt") as text:
        lines = text.read().splitlines()
    assert lines[0].startswith("0|")  # no header
    assert lines[2] == '2|"中文 😀 emoji"|\\N|\\N'
    # DataX's index form; a name may rename the column
    columns = [
        {"index": 0, "type": "long", "name": "id"},
        {"index": 1, "type": "string", "name": "s"},
        {"index": 2, "type": "timestamp", "name": "ts"},
        {"index": 3, "type": "decimal(38,10)", "name": "dec"},
    ]
    back = read_back("csv", tmp_path / "out.txt", columns, **options)
    assert checksums(back) == checksums(table)


@pytest.mark.parametrize("encoding, text", [("gbk", "中文数据"), ("latin-1", "café déjà")])
def test_csv_encodings(tmp_path, pipeline, encoding, text):
    pq.write_table(pa.table({"id": [1, 2], "s": [text, None]}), tmp_path / "seed.parquet")
    ok(pipeline("parquet", {"path": "seed.parquet"}, "csv", {"path": "out.csv", "encoding": encoding}), 2)
    assert (tmp_path / "out.csv").read_bytes().decode(encoding).splitlines()[1] == f'1,"{text}"'
    ok(pipeline("csv", {"path": "out.csv", "encoding": encoding}, "jsonl", {"path": "out.jsonl"}), 2)
    assert json.loads((tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()[0]) == {"id": "1", "s": text}


def test_unencodable_value_is_a_dirty_record(tmp_path, pipeline):
    pq.write_table(pa.table({"s": ["中文", "emoji 😀", "ok"]}), tmp_path / "seed.parquet")
    summary = pipeline(
        "parquet", {"path": "seed.parquet"}, "csv", {"path": "out.csv", "encoding": "gbk"}, errors=1
    )
    assert (summary.status, summary.records_written, summary.dirty_records) == ("success", 2, 1)
    assert "gbk" in summary.dirty_samples[0]["reason"]
    assert (tmp_path / "out.csv").read_bytes().decode("gbk").splitlines() == ['"s"', '"中文"', '"ok"']


def test_glob_of_files_read_by_two_channels(tmp_path, pipeline):
    (tmp_path / "in").mkdir()
    for n in range(4):
        ids = pa.array(range(n * 1000, (n + 1) * 1000), pa.int64())
        pacsv.write_csv(pa.table({"id": ids, "part": [f"p{n}"] * 1000}), tmp_path / "in" / f"part-{n}.csv")
    (tmp_path / "in" / "notes.txt").write_text("not matched")
    column = [{"name": "id", "type": "long"}, "part"]
    reader = {"path": "in/part-*.csv", "column": column}
    summary = pipeline("csv", reader, "parquet", {"path": "all.parquet"}, channels=2)
    ok(summary, 4000)
    assert sum(c.tasks for c in summary.channels) == 4
    back = pq.read_table(tmp_path / "all.parquet")
    assert sorted(back["id"].to_pylist()) == list(range(4000))
    assert back.schema.field("id").type == pa.int64()


def test_glob_matching_nothing_fails(tmp_path, pipeline):
    summary = pipeline("csv", {"path": "missing-*.csv"}, "parquet", {"path": "out.parquet"})
    assert summary.status == "failed" and "no file matches" in summary.error


def test_jsonl_columns_and_types(tmp_path, pipeline):
    lines = [
        {"id": 1, "extra": "dropped", "note": None, "day": "2024-02-29", "amount": "12.50"},
        {"id": 2, "note": "late value", "day": None, "amount": "3"},
    ]
    (tmp_path / "in.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n\n")
    column = ["id", "note", {"name": "day", "type": "date"}, {"name": "amount", "type": "decimal(10,2)"}]
    ok(pipeline("jsonl", {"path": "in.jsonl", "column": column}, "parquet", {"path": "out.parquet"}), 2)
    back = pq.read_table(tmp_path / "out.parquet")
    assert back.schema.types == [pa.int64(), pa.string(), pa.date32(), pa.decimal128(10, 2)]
    assert back["note"].to_pylist() == [None, "late value"]  # null in the first block: text
    assert str(back["amount"][0]) == "12.50"


def test_writer_column_renames_and_types(tmp_path, pipeline):
    (tmp_path / "in.csv").write_text("a,b\n1,2024-01-02 03:04:05\n")
    column = ["id", {"name": "at", "type": "timestamp"}]
    ok(pipeline("csv", {"path": "in.csv"}, "parquet", {"path": "out.parquet", "column": column}), 1)
    back = pq.read_table(tmp_path / "out.parquet")
    assert back.schema.names == ["id", "at"] and back.schema.field("at").type == pa.timestamp("us")


def test_zone_aware_text_with_or_without_offset(tmp_path, pipeline):
    (tmp_path / "in.csv").write_text("at\n2024-01-02 03:04:05\n2024-01-02 11:04:05+08:00\n2024-01-02T03:04:05Z\n")
    column = [{"name": "at", "type": "timestamptz"}]
    ok(pipeline("csv", {"path": "in.csv", "column": column}, "parquet", {"path": "out.parquet"}), 3)
    values = pq.read_table(tmp_path / "out.parquet")["at"]
    assert values.type == pa.timestamp("us", tz="UTC") and len(set(values.to_pylist())) == 1


@pytest.mark.parametrize("name", ["out.csv", "out.csv.gz", "out.jsonl"])
def test_append_to_text_files(tmp_path, pipeline, name):
    fmt = "jsonl" if "jsonl" in name else "csv"
    pq.write_table(pa.table({"id": [1, 2]}), tmp_path / "seed.parquet")
    for _ in range(2):
        ok(pipeline("parquet", {"path": "seed.parquet"}, fmt, {"path": name, "writeMode": "append"}), 2)
    assert read_back(fmt, tmp_path / name, [{"name": "id", "type": "long"}])["id"].to_pylist() == [1, 2, 1, 2]
    if name == "out.csv":
        assert (tmp_path / name).read_text().count('"id"') == 1  # one header
    ok(pipeline("parquet", {"path": "seed.parquet"}, fmt, {"path": name}), 2)  # truncate
    assert len(read_back(fmt, tmp_path / name)) == 2


def test_parquet_append_writes_parts_and_truncate_removes_them(tmp_path, pipeline):
    pq.write_table(pa.table({"id": [1, 2]}), tmp_path / "seed.parquet")
    for _ in range(3):
        ok(pipeline("parquet", {"path": "seed.parquet"}, "parquet", {"path": "out.parquet", "writeMode": "append"}), 2)
    assert sorted(p.name for p in tmp_path.glob("out*.parquet")) == ["out-1.parquet", "out-2.parquet", "out.parquet"]
    assert len(read_back("parquet", tmp_path / "out*.parquet")) == 6
    ok(pipeline("parquet", {"path": "seed.parquet"}, "parquet", {"path": "out.parquet"}), 2)
    assert [p.name for p in tmp_path.glob("out*.parquet")] == ["out.parquet"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_non_conflict(tmp_path, pipeline, fmt):
    pq.write_table(pa.table({"id": [1, 2]}), tmp_path / "seed.parquet")
    writer = {"path": f"out.{fmt}", "writeMode": "nonConflict"}
    ok(pipeline("parquet", {"path": "seed.parquet"}, fmt, writer), 2)
    before = (tmp_path / f"out.{fmt}").read_bytes()
    summary = pipeline("parquet", {"path": "seed.parquet"}, fmt, writer)
    assert summary.status == "failed" and "already exists" in summary.error
    assert (tmp_path / f"out.{fmt}").read_bytes() == before


def test_unknown_write_mode_fails(tmp_path, pipeline):
    pq.write_table(pa.table({"id": [1]}), tmp_path / "seed.parquet")
    summary = pipeline("parquet", {"path": "seed.parquet"}, "csv", {"path": "out.csv", "writeMode": "merge"})
    assert summary.status == "failed" and "writeMode" in summary.error


@pytest.mark.parametrize("fmt", FORMATS)
def test_failed_run_leaves_no_file(tmp_path, pipeline, fmt):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_text("id\n" + "\n".join(map(str, range(5000))) + "\n")
    (tmp_path / "in" / "b.csv").write_text("id\n1\nnot a number\n")
    reader = {"path": "in/*.csv", "column": [{"name": "id", "type": "long"}]}
    summary = pipeline("csv", reader, fmt, {"path": f"out.{fmt}"})
    assert summary.status == "failed" and "b.csv" in summary.error
    assert not (tmp_path / f"out.{fmt}").exists() and leftovers(tmp_path) == []


def test_failed_truncate_keeps_the_old_file(tmp_path, pipeline):
    (tmp_path / "out.csv").write_text("old\n")
    (tmp_path / "in.csv").write_text("n\n1\nx\ny\n")
    writer = {"path": "out.csv", "column": [{"name": "n", "type": "long"}]}
    summary = pipeline("csv", {"path": "in.csv"}, "csv", writer)
    assert summary.status == "failed" and summary.dirty_records == 2  # over errorLimit 0
    assert (tmp_path / "out.csv").read_text() == "old\n" and leftovers(tmp_path) == []


def test_empty_source_writes_an_empty_file(tmp_path, pipeline):
    (tmp_path / "in.csv").write_text("a,b\n")
    ok(pipeline("csv", {"path": "in.csv"}, "csv", {"path": "out.csv", "column": ["x", "y"]}), 0)
    assert (tmp_path / "out.csv").read_text() == '"x","y"\n'


def test_parquet_is_read_in_bounded_batches(tmp_path, pipeline):
    rows = 300_000
    table = pa.table({"id": pa.array(range(rows), pa.int64()), "v": pa.array(range(rows), pa.float64())})
    pq.write_table(table, tmp_path / "big.parquet", row_group_size=100_000)
    source = DataSource("f", "parquet", {"path": str(tmp_path)})
    reader = get_connector("parquet").reader({"path": "big.parquet", "fetchSize": 10_000}, source)
    (task,) = reader.split(4)
    sizes = [batch.num_rows for batch in task.read()]
    assert sum(sizes) == rows and max(sizes) <= 10_000
    ok(pipeline("parquet", {"path": "big.parquet", "fetchSize": 10_000}, "parquet", {"path": "copy.parquet"}), rows)
    assert pq.ParquetFile(tmp_path / "copy.parquet").metadata.num_rows == rows


def test_file_data_source_operations(tmp_path, edge_table):
    pq.write_table(edge_table, tmp_path / "a.parquet")
    (tmp_path / "b.csv").write_text("x,y\n1,2\n")
    source = DataSource("files", "csv", {"path": str(tmp_path)})
    assert get_connector("parquet").test_connection(source).endswith(": 1 parquet file(s)")
    assert get_connector("csv").list_tables(source) == ["b.csv"]
    assert get_connector("csv").list_columns(source, "b.csv") == [("x", "string"), ("y", "string")]
    columns = get_connector("parquet").list_columns(source, "a.parquet")
    assert columns[:3] == [("id", "long"), ("i64", "long"), ("dec", "decimal(38,10)")]
    assert columns[-2:] == [("tz", "timestamptz"), ("bin", "bytes")]
    with pytest.raises(Exception, match="does not exist"):
        get_connector("csv").test_connection(DataSource("gone", "csv", {"path": str(tmp_path / "gone")}))
