"""Files: CSV, Parquet and JSON lines, read and written as Arrow batches.

A file data source is a folder (``params["path"]``). A step's ``path`` is relative to it,
absolute, or (readers only) a glob; a reader makes one read task per file, so channels
work on several files at once. Text is parsed in blocks of ``TEXT_BLOCK`` bytes and
Parquet row group by row group, so memory does not grow with the file.

``column`` lists names (``"id"``), or objects ``{"name": "id", "type": "long"}``, or
DataX's ``{"index": 0, "type": "long"}``; ``["*"]`` or nothing takes every column. Type
names: ``long``/``bigint``, ``int``, ``double``, ``float``, ``string``, ``boolean``,
``bytes``, ``date`` (a calendar date), ``timestamp``/``datetime``, ``timestamptz`` (UTC)
and ``decimal(p,s)`` (a bare ``decimal`` is ``decimal(38,10)``).

Decisions a DataX user should know:

- CSV ``header`` defaults to true; without a header columns are picked by position.
  Untyped CSV columns are read as strings (DataX's rule: nothing is guessed, ``007``
  stays ``007``); the writer's cast gives them the target's types, so a bad value is a
  dirty record there. A typed column is parsed while reading, and a value that does not
  parse fails the run, naming the file. Untyped JSON values keep their JSON types, as
  the first block of each file shows them.
- NULL is ``nullFormat`` (default ``""``): an empty unquoted CSV field is NULL, a quoted
  ``""`` is the empty string. The CSV writer quotes every string and writes NULL as
  ``nullFormat``, so NULL and ``""`` survive a round trip.
- CSV and JSON hold binary as base64 text; read it back with the type ``bytes``.
  Timestamps are written ``YYYY-MM-DD HH:MM:SS.ffffff`` (never a 'T'), zone-aware ones in
  UTC with a ``Z`` (read back, a zone-aware value without an offset is taken as UTC).
  Decimals are written as text in plain notation (never ``1E-10``; in JSON a string, so
  no digit is lost to a float). JSON has no NaN or infinity: such a row is dirty.
- ``compress``: ``gzip``, ``bzip2``, ``zstd`` or ``lz4`` for text (detected from the
  file's extension when not given); for Parquet it is the codec inside the file (``snappy``
  by default, ``zstd``, ``gzip``, ``none``...).
- Writers: every channel writes into one file, a lock around the single underlying writer
  (CSV and JSON channels serialise their batches before taking it). The file is written
  under a hidden temporary name and renamed at ``finish``; a failed run deletes it, so it
  never leaves half a file. ``writeMode``: ``truncate`` (default) replaces the file,
  ``nonConflict`` fails when it exists, ``append`` adds rows: CSV and JSON copy the old
  file into the temporary one first (so the rename stays atomic; a compressed file gets
  a new compressed member), Parquet writes a new part ``name-<n>.parquet`` next to
  ``name.parquet`` (read them all with ``name*.parquet``; ``truncate`` removes the parts).
"""

from __future__ import annotations

import abc
import base64
import codecs
import glob
import itertools
import json
from json.encoder import encode_basestring
import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from .arrowcast import cast_array
from .base import Connector, ConnectorError, DataSource, Reader, ReadTask, Writer, WriteTask

TEXT_BLOCK = 4 << 20  # bytes of CSV / JSON text parsed at a time
DEFAULT_BATCH_SIZE = 65536  # Parquet rows per batch

_TYPES = {
    "long": pa.int64(),
    "bigint": pa.int64(),
    "int": pa.int32(),
    "double": pa.float64(),
    "float": pa.float32(),
    "string": pa.string(),
    "boolean": pa.bool_(),
    "bytes": pa.binary(),
    "date": pa.date32(),
    "datetime": pa.timestamp("us"),
    "timestamp": pa.timestamp("us"),
    "timestamptz": pa.timestamp("us", tz="UTC"),
}
_NAMES = {t: name for name, t in _TYPES.items() if name not in ("bigint", "datetime")}
_DECIMAL = re.compile(r"decimal(?:\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?", re.I)
_CODECS = {
    "gzip": "gzip", "gz": "gzip", "bzip2": "bz2", "bz2": "bz2", "zstd": "zstd", "zst": "zstd", "lz4": "lz4",
}
_WRITE_MODES = ("truncate", "append", "nonConflict")


def arrow_type(name: str) -> pa.DataType:
    if match := _DECIMAL.fullmatch(name.strip()):
        precision, scale = (int(match[1]), int(match[2] or 0)) if match[1] else (38, 10)
        return (pa.decimal128 if precision <= 38 else pa.decimal256)(precision, scale)
    try:
        return _TYPES[name.strip().lower()]
    except KeyError:
        raise ConnectorError(
            f"unknown column type {name!r}; use {', '.join(_TYPES)} or decimal(p,s)"
        ) from None


def type_name(t: pa.DataType) -> str:
    """The ``column`` type name of an Arrow type, for templates and introspection."""
    if pa.types.is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    return _NAMES.get(t, str(t))


# -- columns -------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str | None = None
    index: int | None = None
    type: pa.DataType | None = None


def parse_columns(spec: Any) -> list[Column] | None:
    """``None`` means every column of the file, as it comes."""
    if not spec or spec == ["*"]:
        return None
    return [_parse_column(item) for item in spec]


def _parse_column(item: Any) -> Column:
    if isinstance(item, str):
        return Column(name=item)
    if isinstance(item, dict) and ("name" in item or "index" in item):
        index, kind = item.get("index"), item.get("type")
        return Column(
            item.get("name"), None if index is None else int(index), arrow_type(kind) if kind else None
        )
    raise ConnectorError(f'column {item!r}: give a name, or {{"index": n, "type": "..."}}')


@dataclass(frozen=True)
class _Pick:
    source: str  # the column's name in the file
    name: str  # its name in the batches
    type: pa.DataType | None


def _pick(columns: list[Column] | None, names: list[str], positional: bool) -> list[_Pick]:
    if columns is None:
        return [_Pick(n, n, None) for n in names]
    return [_pick_one(c, i, names, positional) for i, c in enumerate(columns)]


def _pick_one(column: Column, i: int, names: list[str], positional: bool) -> _Pick:
    index = column.index if column.index is not None else (i if positional else None)
    if index is None:
        if column.name not in names:
            raise ConnectorError(f"no column {column.name!r}; the file has {', '.join(names)}")
        return _Pick(column.name, column.name, column.type)
    if not 0 <= index < len(names):
        raise ConnectorError(f"column index {index} is out of range: the file has {len(names)} columns")
    return _Pick(names[index], column.name or names[index], column.type)


def _shape(batch: pa.RecordBatch, picks: list[_Pick]) -> pa.RecordBatch:
    """The picked columns, renamed, in their declared types."""
    arrays = [_as_type(batch.column(p.source), p.type, p.name) for p in picks]
    return pa.RecordBatch.from_arrays(arrays, names=[p.name for p in picks])


def _as_type(array: pa.Array, t: pa.DataType | None, name: str) -> pa.Array:
    if t is None or array.type == t:
        return array
    if pa.types.is_binary(t) and pa.types.is_string(array.type):
        return _from_base64(array)
    return cast_array(array, t, name)


def _text_type(t: pa.DataType) -> pa.DataType:
    """What a text parser reads a typed column as. Bytes (base64) and dates are read as
    text, as Arrow's JSON parser takes neither, and so are zone-aware timestamps, which
    Arrow would refuse without an offset: ``_as_type`` converts them after, taking a
    naive value as UTC like every cast here."""
    text_first = pa.types.is_binary(t) or pa.types.is_date(t) or (pa.types.is_timestamp(t) and t.tz)
    return pa.string() if text_first else t


def _from_base64(array: pa.Array) -> pa.Array:
    values = [None if v is None else base64.b64decode(v, validate=True) for v in array.to_pylist()]
    return pa.array(values, pa.binary())


def _to_base64(array: pa.Array) -> pa.Array:
    values = [None if v is None else base64.b64encode(v).decode() for v in array.to_pylist()]
    return pa.array(values, pa.string())


def _is_binary(t: pa.DataType) -> bool:
    return pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t)


# -- paths, streams, options ----------------------------------------------------------


def folder(datasource: DataSource | None) -> Path:
    """The data source's folder; a step without a data source is relative to the cwd."""
    if datasource is None:
        return Path.cwd()
    path = datasource.get("path")
    if not path:
        raise ConnectorError(f"data source {datasource.name!r} has no path")
    return Path(path).expanduser()


def _resolve(datasource: DataSource | None, path: str) -> str:
    return os.path.abspath(folder(datasource) / Path(path).expanduser())  # an absolute path wins


def _codec(path: str, compress: str | None) -> str | None:
    if not compress:
        return _CODECS.get(Path(path).suffix.lstrip(".").lower())
    if compress.lower() == "none":
        return None
    try:
        return _CODECS[compress.lower()]
    except KeyError:
        raise ConnectorError(f"compress {compress!r}: use gzip, bzip2, zstd, lz4 or none") from None


def _encoding(name: str | None) -> str:
    try:
        return codecs.lookup(name or "utf-8").name
    except LookupError:
        raise ConnectorError(f"unknown encoding {name!r}") from None


def _text_blocks(stream: pa.NativeFile, encoding: str) -> Iterator[bytes]:
    """UTF-8 text in blocks of whole lines, transcoded on the way when needed."""
    decode = None if encoding == "utf-8" else codecs.getincrementaldecoder(encoding)().decode
    rest = b""
    while chunk := stream.read(TEXT_BLOCK):
        data = rest + (decode(chunk).encode() if decode else chunk)
        cut = data.rfind(b"\n") + 1
        block, rest = data[:cut], data[cut:]
        if block.strip():
            yield block
    if rest.strip():
        yield rest


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


# -- readers --------------------------------------------------------------------------


class FileReadTask(ReadTask):
    def __init__(self, reader: FileReader, path: str):
        self.reader = reader
        self.path = path
        self.description = path

    def read(self) -> Iterator[pa.RecordBatch]:
        try:
            yield from self.reader.read_file(self.path)
        except (ConnectorError, pa.ArrowException, ValueError, OSError) as error:
            raise ConnectorError(f"{self.path}: {error}") from error


class FileReader(Reader):
    @abc.abstractmethod
    def read_file(self, path: str) -> Iterator[pa.RecordBatch]:
        """Stream one file's picked columns."""

    def split(self, channels: int) -> list[ReadTask]:
        return [FileReadTask(self, path) for path in self.files()]

    def files(self) -> list[str]:
        paths: list[str] = []
        for item in _as_list(self.parameter.get("path")):
            full = _resolve(self.datasource, item)
            found = sorted(glob.glob(full, recursive=True)) if glob.has_magic(full) else [full]
            found = [p for p in found if os.path.isfile(p)]
            if not found:
                raise ConnectorError(f"no file matches {item!r} in {folder(self.datasource)}")
            paths += found
        if not paths:
            raise ConnectorError("a file reader needs a path")
        return paths

    @cached_property
    def columns(self) -> list[Column] | None:
        return parse_columns(self.parameter.get("column"))

    @cached_property
    def encoding(self) -> str:
        return _encoding(self.parameter.get("encoding"))

    def open(self, path: str) -> pa.NativeFile:
        return pa.input_stream(path, compression=_codec(path, self.parameter.get("compress")))


class CsvReader(FileReader):
    @property
    def header(self) -> bool:
        return bool(self.parameter.get("header", True))

    def read_file(self, path: str) -> Iterator[pa.RecordBatch]:
        with self.open(path) as stream, self._csv(stream) as peek:
            names = peek.schema.names  # the header, or f0, f1... without one
        picks = _pick(self.columns, names, positional=not self.header)
        types = {p.source: pa.string() if p.type is None else _text_type(p.type) for p in picks}
        with self.open(path) as stream, self._csv(stream, types) as reader:
            for batch in reader:
                yield _shape(batch, picks)

    def _csv(self, stream: pa.NativeFile, types: dict[str, pa.DataType] | None = None):
        read = pacsv.ReadOptions(
            encoding=self.encoding, block_size=TEXT_BLOCK, autogenerate_column_names=not self.header
        )
        parse = pacsv.ParseOptions(
            delimiter=self.parameter.get("fieldDelimiter") or ",", newlines_in_values=True
        )
        convert = pacsv.ConvertOptions(
            include_columns=list(types or []),
            column_types=types,
            null_values=[self.parameter.get("nullFormat") or ""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        )
        return pacsv.open_csv(stream, read, parse, convert)


class ParquetReader(FileReader):
    def read_file(self, path: str) -> Iterator[pa.RecordBatch]:
        with pq.ParquetFile(path) as file:
            picks = _pick(self.columns, file.schema_arrow.names, positional=False)
            size = int(self.parameter.get("fetchSize") or DEFAULT_BATCH_SIZE)
            sources = list(dict.fromkeys(p.source for p in picks))
            for batch in file.iter_batches(batch_size=size, columns=sources):
                yield _shape(batch, picks)


class JsonLinesReader(FileReader):
    def read_file(self, path: str) -> Iterator[pa.RecordBatch]:
        with self.open(path) as stream:
            blocks = _text_blocks(stream, self.encoding)
            first = next(blocks, None)
            if first is None:
                return
            inferred = _parse_json(first, pajson.ParseOptions()).schema
            picks = _pick(self.columns, inferred.names, positional=False)
            options = pajson.ParseOptions(
                explicit_schema=_json_schema(picks, inferred), unexpected_field_behavior="ignore"
            )
            for block in itertools.chain([first], blocks):
                for batch in _parse_json(block, options).to_batches():
                    yield _shape(batch, picks)


def _parse_json(block: bytes, options: pajson.ParseOptions) -> pa.Table:
    read = pajson.ReadOptions(block_size=len(block) + 1)  # one block: one type inference
    return pajson.read_json(pa.BufferReader(block), read_options=read, parse_options=options)


def _json_schema(picks: list[_Pick], inferred: pa.Schema) -> pa.Schema:
    """Declared types where given, else the first block's (all-null columns as text):
    every block is parsed alike, so a file's batches share one schema."""
    types: dict[str, pa.DataType] = {}
    for p in picks:
        seen = inferred.field(p.source).type
        if p.type is not None:
            types[p.source] = _text_type(p.type)
        else:
            types[p.source] = pa.string() if pa.types.is_null(seen) else seen
    return pa.schema(list(types.items()))


# -- writers --------------------------------------------------------------------------


class _Sink(abc.ABC):
    """The one open output file of a run. ``encode`` runs in the channel's own thread;
    ``write`` is called under the writer's lock."""

    def encode(self, batch: pa.RecordBatch) -> Any:
        return batch

    @abc.abstractmethod
    def write(self, data: Any) -> None: ...

    @abc.abstractmethod
    def close(self) -> None: ...


class _TextSink(_Sink):
    def __init__(self, path: str, codec: str | None, appending: bool, header: bytes, encode):
        raw = pa.OSFile(path, "ab" if appending else "wb")
        self.stream = pa.CompressedOutputStream(raw, codec) if codec else raw
        self.encode = encode
        self.stream.write(header)

    def write(self, data: bytes) -> None:
        self.stream.write(data)

    def close(self) -> None:
        self.stream.close()


class _ParquetSink(_Sink):
    def __init__(self, path: str, schema: pa.Schema, compression: str):
        self.writer = pq.ParquetWriter(path, schema, compression=compression)

    def write(self, batch: pa.RecordBatch) -> None:
        self.writer.write_batch(batch)

    def close(self) -> None:
        self.writer.close()


class FileWriteTask(WriteTask):
    def __init__(self, writer: FileWriter, target_schema: pa.Schema):
        super().__init__(target_schema)
        self.writer = writer

    def write_batch(self, batch: pa.RecordBatch) -> None:
        self.writer.write(batch)


class FileWriter(Writer):
    def __init__(self, parameter: dict[str, Any], datasource: DataSource | None):
        super().__init__(parameter, datasource)
        self._lock = threading.Lock()
        self._sink: _Sink | None = None
        self._temp: str | None = None
        self.output = ""
        self.appending = False

    @abc.abstractmethod
    def open_sink(self, path: str, schema: pa.Schema, appending: bool) -> _Sink:
        """Open the output (``appending``: after the old file's bytes, already copied)."""

    @property
    def mode(self) -> str:
        return self.parameter.get("writeMode") or "truncate"

    @cached_property
    def target(self) -> str:
        path = self.parameter.get("path")
        if not isinstance(path, str) or not path or glob.has_magic(path):
            raise ConnectorError(f"a file writer's path must name one file, not {path!r}")
        return _resolve(self.datasource, path)

    @cached_property
    def encoding(self) -> str:
        return _encoding(self.parameter.get("encoding"))

    @property
    def codec(self) -> str | None:
        """Of the final name: the temporary one ends in .tmp."""
        return _codec(self.target, self.parameter.get("compress"))

    def target_schema(self, source: pa.Schema) -> pa.Schema:
        columns = parse_columns(self.parameter.get("column"))
        if columns is None:
            return source
        if len(columns) != len(source):
            raise ConnectorError(
                f"the reader gives {len(source)} columns, the writer's column lists {len(columns)}"
            )
        return pa.schema(
            pa.field(c.name or f.name, c.type or f.type) for c, f in zip(columns, source)
        )

    def output_path(self) -> str:
        """Where this run's rows land; Parquet appends to a new part."""
        return self.target

    def prepare(self) -> None:
        if self.mode not in _WRITE_MODES:
            raise ConnectorError(f"writeMode {self.mode!r}: use {', '.join(_WRITE_MODES)}")
        self._check_conflict()
        self.output = self.output_path()
        os.makedirs(os.path.dirname(self.output), exist_ok=True)
        self._temp = os.path.join(
            os.path.dirname(self.output), f".{os.path.basename(self.output)}.{uuid.uuid4().hex[:8]}.tmp"
        )
        self.appending = (
            self.mode == "append" and os.path.exists(self.output) and os.path.getsize(self.output) > 0
        )
        if self.appending:
            shutil.copyfile(self.output, self._temp)

    def open_task(self, target_schema: pa.Schema) -> WriteTask:
        self._open(target_schema)
        return FileWriteTask(self, target_schema)

    def write(self, batch: pa.RecordBatch) -> None:
        data = self._sink.encode(batch)  # all or nothing: nothing is written if this fails
        with self._lock:
            self._sink.write(data)

    def finish(self) -> None:
        self._open(self._declared_schema())  # a run without rows still leaves its file
        self._sink.close()
        self._check_conflict()
        os.replace(self._temp, self.output)

    def abort(self) -> None:
        try:
            if self._sink is not None:
                self._sink.close()
        finally:
            if self._temp:
                Path(self._temp).unlink(missing_ok=True)

    def _open(self, schema: pa.Schema) -> None:
        with self._lock:
            if self._sink is None:
                self._sink = self.open_sink(self._temp, schema, self.appending)

    def _check_conflict(self) -> None:
        if self.mode == "nonConflict" and os.path.exists(self.target):
            raise ConnectorError(f"{self.target} already exists (writeMode nonConflict)")

    def _declared_schema(self) -> pa.Schema:
        columns = parse_columns(self.parameter.get("column")) or []
        return pa.schema((c.name, c.type or pa.string()) for c in columns if c.name)


class CsvWriter(FileWriter):
    @cached_property
    def options(self) -> pacsv.WriteOptions:
        try:
            return pacsv.WriteOptions(
                include_header=False,
                delimiter=self.parameter.get("fieldDelimiter") or ",",
                null_string=self.parameter.get("nullFormat") or "",
            )
        except (ValueError, pa.ArrowInvalid) as error:
            raise ConnectorError(f"csv options: {error}") from None

    def prepare(self) -> None:
        self.options  # fail before any row on a bad delimiter or nullFormat
        super().prepare()

    def open_sink(self, path: str, schema: pa.Schema, appending: bool) -> _Sink:
        header = b""
        if self.parameter.get("header", True) and not appending and len(schema):
            empty = pa.Table.from_arrays([pa.array([], pa.string())] * len(schema), names=schema.names)
            header = self._csv(empty, include_header=True)
        return _TextSink(path, self.codec, appending, header, self._encode)

    def _encode(self, batch: pa.RecordBatch) -> bytes:
        columns = [_csv_ready(c) for c in batch.columns]
        return self._csv(pa.RecordBatch.from_arrays(columns, names=batch.schema.names))

    def _csv(self, data: pa.RecordBatch | pa.Table, include_header: bool = False) -> bytes:
        buffer = pa.BufferOutputStream()
        options = self.options
        if include_header:
            options = pacsv.WriteOptions(include_header=True, delimiter=options.delimiter)
        pacsv.write_csv(data, buffer, options)
        text = buffer.getvalue().to_pybytes()
        return text if self.encoding == "utf-8" else text.decode().encode(self.encoding)


class JsonLinesWriter(FileWriter):
    def open_sink(self, path: str, schema: pa.Schema, appending: bool) -> _Sink:
        return _TextSink(path, self.codec, appending, b"", self._encode)

    def _encode(self, batch: pa.RecordBatch) -> bytes:
        """Each column's JSON texts at once, then joined into lines: far faster than
        ``json.dumps`` row by row."""
        parts: list[Any] = []
        for i, (name, column) in enumerate(zip(batch.schema.names, batch.columns)):
            key = ("{" if i == 0 else ", ") + json.dumps(name, ensure_ascii=False) + ": "
            parts += [key, _json_values(column)]
        lines = pc.binary_join_element_wise(*parts, "}\n", "")
        text = pc.binary_join(pa.ListArray.from_arrays([0, len(lines)], lines), "")[0]
        return text.as_py().encode(self.encoding)


def _csv_ready(array: pa.Array) -> pa.Array:
    """Arrow's CSV writer would write 0E-10 for a small decimal, and cannot write bytes."""
    if _is_binary(array.type):
        return _to_base64(array)
    if pa.types.is_decimal(array.type):
        return cast_array(array, pa.string())
    return array


def _json_values(array: pa.Array) -> pa.Array:
    """The JSON text of each value. JSON has no dates or decimals (written as Arrow's text,
    as in CSV), no bytes (base64) and no NaN or infinity (a dirty record)."""
    t = array.type
    if pa.types.is_floating(t) and pc.any(pc.invert(pc.is_finite(array))).as_py():
        raise ValueError("NaN and infinity have no JSON form")
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t):
        text = pc.cast(array, pa.string())
    elif pa.types.is_nested(t) or pa.types.is_dictionary(t):
        values = [json.dumps(v, ensure_ascii=False, default=str) for v in array.to_pylist()]
        text = pa.array(values, pa.string())
    else:  # text, and what JSON holds as text
        text = _json_string(pc.cast(_csv_ready(array), pa.string()))
    return pc.fill_null(text, "null")


def _json_string(strings: pa.Array) -> pa.Array:
    """Quoted by Arrow; escaped by Python only when a value needs it."""
    if pc.any(pc.match_substring_regex(strings, r'["\\\x00-\x1f]')).as_py():
        values = [None if v is None else encode_basestring(v) for v in strings.to_pylist()]
        return pa.array(values, pa.string())
    return pc.binary_join_element_wise('"', strings, '"', "")


class ParquetWriter(FileWriter):
    def open_sink(self, path: str, schema: pa.Schema, appending: bool) -> _Sink:
        return _ParquetSink(path, schema, (self.parameter.get("compress") or "snappy").lower())

    def output_path(self) -> str:
        if self.mode != "append" or not os.path.exists(self.target):
            return self.target
        stem, suffix = os.path.splitext(self.target)
        return f"{stem}-{1 + max(_parts(self.target), default=0)}{suffix}"

    def finish(self) -> None:
        super().finish()
        if self.mode == "truncate":  # the parts belong to the file they were appended to
            stem, suffix = os.path.splitext(self.target)
            for n in _parts(self.target):
                Path(f"{stem}-{n}{suffix}").unlink(missing_ok=True)


def _parts(target: str) -> list[int]:
    """The numbers of the parts appended next to a Parquet file."""
    stem, suffix = os.path.splitext(target)
    pattern = re.compile(re.escape(os.path.basename(stem)) + r"-(\d+)" + re.escape(suffix) + "$")
    names = os.listdir(os.path.dirname(target) or ".")
    return [int(m[1]) for m in map(pattern.match, names) if m]


# -- connectors -----------------------------------------------------------------------


class FileConnector(Connector):
    family = "file"
    suffixes: tuple[str, ...] = ()

    def test_connection(self, datasource: DataSource) -> str:
        path = folder(datasource)
        if not path.is_dir():
            raise ConnectorError(f"folder {str(path)!r} does not exist")
        return f"folder {path}: {len(self.list_tables(datasource))} {self.step_type} file(s)"

    def list_tables(self, datasource: DataSource) -> list[str]:
        path = folder(datasource)
        return sorted(
            p.name for p in path.iterdir() if p.is_file() and p.name.endswith(self.suffixes)
        )

    def list_columns(self, datasource: DataSource, table: str) -> list[tuple[str, str]]:
        reader = self.reader({"path": table}, datasource)
        for task in reader.split(1):
            with closing(task.read()) as batches:
                for batch in batches:
                    return [(f.name, type_name(f.type)) for f in batch.schema]
        return []


class CsvConnector(FileConnector):
    step_type = "csv"
    suffixes = (".csv", ".csv.gz", ".csv.bz2", ".csv.zst", ".txt", ".tsv")
    reader = CsvReader
    writer = CsvWriter


class ParquetConnector(FileConnector):
    step_type = "parquet"
    suffixes = (".parquet",)
    reader = ParquetReader
    writer = ParquetWriter


class JsonLinesConnector(FileConnector):
    step_type = "jsonl"
    suffixes = (".jsonl", ".jsonl.gz", ".jsonl.bz2", ".jsonl.zst", ".ndjson", ".json")
    reader = JsonLinesReader
    writer = JsonLinesWriter
