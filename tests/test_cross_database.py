"""Whole jobs between PostgreSQL, MariaDB and SQLite on a mixed-type table of 20k rows with
edge rows: the row count, exact per-column sums and an md5 over every row must match
between source and target, each side read back by its own driver and normalised."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import date, datetime, timedelta
from decimal import Context, Decimal, localcontext

import pytest

from jupyter_offline_pipeline.connectors import DataSource

ROWS = 20_000
COLUMNS = ["id", "i", "big", "amount", "huge", "ratio", "name", "note", "d", "ts", "flag", "bin"]
DDL = {
    "postgresql": """(id bigint PRIMARY KEY, i int, big bigint, amount numeric(18,4),
        huge numeric(38,10), ratio double precision, name varchar(100), note text, d date,
        ts timestamp(6), flag boolean, bin bytea)""",
    "mysql": """(id bigint PRIMARY KEY, i int, big bigint, amount decimal(18,4),
        huge decimal(38,10), ratio double, name varchar(100), note text, d date,
        ts datetime(6), flag boolean, bin blob) CHARACTER SET utf8mb4""",
    # SQLite keeps decimals in a REAL (15 digits): the 38-digit one is declared TEXT
    "sqlite": """(id INTEGER PRIMARY KEY, i INTEGER, big INTEGER, amount DECIMAL(18,4),
        huge TEXT, ratio REAL, name VARCHAR(100), note TEXT, d DATE, ts TIMESTAMP,
        flag BOOLEAN, bin BLOB)""",
}
EDGE = [
    (1, -2147483648, -9223372036854775808, Decimal("-99999999999.9999"),
     Decimal("-9999999999999999999999999999.9999999999"), -1.7976931348623157e308, "", "",
     date(1, 1, 1), datetime(1000, 1, 1, 0, 0, 0, 1), False, b""),
    (2, 2147483647, 9223372036854775807, Decimal("99999999999.9999"),
     Decimal("9999999999999999999999999999.9999999999"), 5e-324, "中文 😀 éàü", None,
     date(9999, 12, 31), datetime(9999, 12, 31, 23, 59, 59, 999999), True, b"\x00\xff\x00"),
    (3, None, None, None, None, None, None, None, None, None, None, None),
    (4, 0, 0, Decimal("0.0001"), Decimal("0.0000000001"), 0.1, 'quote " comma , tab \t',
     "line\nbreak \\ backslash \\N NULL", date(1969, 12, 31), datetime(1969, 12, 31, 23, 59, 59, 999999),
     False, b"\\N,\"\n"),
]


def generated(i: int) -> tuple:
    return (
        i, i * 37 - 300_000, i * 461_168_601_842 - 4_611_686_018_427_387_904,
        Decimal(i * 7919 - 50_000_000) / 10_000, Decimal(i * 104_729) / 10**10 - 123_456_789,
        i / 7, f"名前 {i} ñ", None if i % 10 == 0 else ("" if i % 10 == 1 else f"note {i}"),
        date(1950, 1, 1) + timedelta(days=i),
        datetime(1960, 1, 1) + timedelta(seconds=i * 3607, microseconds=i),
        i % 3 == 0, bytes([i % 256, 0, (i * 7) % 256]),
    )


DATA = EDGE + [generated(i) for i in range(len(EDGE) + 1, ROWS + 1)]


class Sqlite:
    """The SQLite side, shaped like the server fixtures."""

    def __init__(self, path):
        self.datasource = DataSource("lite", "sqlite", {"path": str(path)})
        self.conn = sqlite3.connect(path)

    def table(self, prefix: str) -> str:
        return f"test_{prefix}"

    def execute(self, sql: str, params=None) -> None:
        with self.conn:
            self.conn.execute(sql, params or ())

    def rows(self, sql: str) -> list[tuple]:
        return self.conn.execute(sql).fetchall()


@pytest.fixture
def sides(request, tmp_path):
    """step type -> the fixture holding its database, created on demand."""
    fixtures = {"postgresql": "pg_db", "mysql": "mariadb_db"}
    lite = Sqlite(tmp_path / "lite.db")
    yield lambda kind: lite if kind == "sqlite" else request.getfixturevalue(fixtures[kind])
    lite.conn.close()


def fill(db, kind: str, name: str) -> None:
    db.execute(f"CREATE TABLE {name} {DDL[kind]}")
    if kind == "postgresql":
        with db.conn.cursor() as cursor, cursor.copy(f"COPY {name} FROM STDIN") as copy:
            for row in DATA:
                copy.write_row(row)
    elif kind == "mysql":
        with db.conn.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {name} VALUES ({', '.join(['%s'] * len(COLUMNS))})", DATA)
    else:
        rows = [tuple(str(v) if isinstance(v, (Decimal, date)) else v for v in row) for row in DATA]
        with db.conn:  # one transaction
            db.conn.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * len(COLUMNS))})", rows)


def normalised(row: tuple) -> tuple:
    """One row as plain Python, whatever driver read it (SQLite gives text and REALs)."""
    id_, i, big, amount, huge, ratio, name, note, d, ts, flag, bin_ = row
    return (
        id_, i, big, _decimal(amount, 4), _decimal(huge, 10), None if ratio is None else float(ratio),
        name, note, date.fromisoformat(d) if isinstance(d, str) else d,
        datetime.fromisoformat(ts) if isinstance(ts, str) else ts,
        None if flag is None else bool(flag), None if bin_ is None else bytes(bin_),
    )


def _decimal(value, scale: int) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal(1).scaleb(-scale))


def checksums(db, name: str) -> dict:
    with localcontext(Context(prec=100)):  # exact: 38-digit values and their sums
        rows = [normalised(r) for r in db.rows(f"SELECT {', '.join(COLUMNS)} FROM {name} ORDER BY id")]
        sums = {c: sum(r[k] for r in rows if r[k] is not None) for k, c in enumerate(COLUMNS[:5])}
    digest = hashlib.md5()
    for row in rows:
        digest.update(repr(row).encode())
    return {"rows": len(rows), "sums": sums, "md5": digest.hexdigest()}


def flow(source: str, target: str):
    """A parametrised case, marked with the servers it needs."""
    servers = {"postgresql": pytest.mark.postgres, "mysql": pytest.mark.mariadb}
    marks = [mark for kind, mark in servers.items() if kind in (source, target)]
    return pytest.param(source, target, marks=marks, id=f"{source}-{target}")


@pytest.mark.parametrize("source, target", [
    flow("postgresql", "postgresql"), flow("mysql", "postgresql"), flow("postgresql", "mysql"),
    flow("mysql", "mysql"), flow("postgresql", "sqlite"), flow("sqlite", "postgresql"),
])
def test_copy_keeps_every_value(sides, run_sync, source, target):
    src_db, dst_db = sides(source), sides(target)
    src, dst = src_db.table("src"), dst_db.table("dst")
    fill(src_db, source, src)
    dst_db.execute(f"CREATE TABLE {dst} {DDL[target]}")
    lookup = {"src": src_db.datasource, "dst": dst_db.datasource}
    summary = run_sync(
        (source, {"datasource": "src", "table": [src], "column": COLUMNS, "splitPk": "id"}),
        (target, {"datasource": "dst", "table": dst, "column": COLUMNS}),
        lookup, channels=2,
    )
    assert summary.status == "success", summary.error
    assert (summary.records_read, summary.records_written, summary.dirty_records) == (ROWS, ROWS, 0)
    expected = checksums(src_db, src)
    assert expected["rows"] == ROWS
    assert checksums(dst_db, dst) == expected
