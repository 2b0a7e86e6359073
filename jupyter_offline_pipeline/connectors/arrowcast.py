"""Lossless casting of a source batch to the target's Arrow types.

Columns are matched by position (the DataX rule: reader column i goes to writer column i).
Every cast is *safe*: a value that would lose digits, overflow or fail to parse raises a
``CastError`` naming the column, and the write path then isolates the bad rows as dirty
records. The traps seen in other tools are handled explicitly here: MariaDB booleans are
integers, PostgreSQL numerics arrive as text, an empty string stays an empty string (not
NULL), and timestamps are never turned into text with a 'T' or a zone.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc


class CastError(ValueError):
    """A value cannot be converted to the target column's type without loss."""


def cast_batch(batch: pa.RecordBatch, target: pa.Schema) -> pa.RecordBatch:
    if batch.num_columns != len(target):
        raise CastError(
            f"the reader gives {batch.num_columns} columns, the writer takes {len(target)}"
        )
    if batch.schema.equals(target, check_metadata=False):
        return batch
    arrays = [
        cast_array(column, field.type, field.name)
        for column, field in zip(batch.columns, target)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=target)


def cast_array(array: pa.Array, target: pa.DataType, name: str = "?") -> pa.Array:
    array = _storage(array)
    if array.type == target:
        return array
    try:
        return _convert(array, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as error:
        raise CastError(
            f"column {name!r}: cannot convert {array.type} to {target}: {_short(error)}"
        ) from None


def _convert(array: pa.Array, target: pa.DataType) -> pa.Array:
    source = array.type
    if pa.types.is_boolean(target) and (pa.types.is_integer(source) or pa.types.is_decimal(source)):
        return pc.not_equal(array, pa.scalar(0, source))
    if pa.types.is_boolean(target) and _is_text(source):
        return _text_to_bool(array)
    if _is_text(target) and _is_temporal(source):
        return _temporal_to_text(array, target)
    if _is_text(target) and pa.types.is_decimal(source):
        return _decimal_to_text(array, target)
    if pa.types.is_timestamp(target) and _is_text(source):
        return _text_to_timestamp(array, target)
    return pc.cast(array, target, safe=True)


def _storage(array: pa.Array) -> pa.Array:
    """Extension arrays (PostgreSQL's opaque numeric) are read as their storage."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array.storage if isinstance(array.type, pa.BaseExtensionType) else array


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _is_temporal(t: pa.DataType) -> bool:
    return pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_time(t)


_TRUE = {"1", "t", "true", "y", "yes", "on"}
_FALSE = {"0", "f", "false", "n", "no", "off"}


def _text_to_bool(array: pa.Array) -> pa.Array:
    values = []
    for value in array.to_pylist():
        if value is None:
            values.append(None)
        elif value.strip().lower() in _TRUE:
            values.append(True)
        elif value.strip().lower() in _FALSE:
            values.append(False)
        else:
            raise pa.ArrowInvalid(f"{value!r} is not a boolean")
    return pa.array(values, pa.bool_())


_ZONE = r":\d\d(\.\d*)?\s*([Zz]|[+-]\d\d(:?\d\d)?)$"  # an offset after the time


def _text_to_timestamp(array: pa.Array, target: pa.DataType) -> pa.Array:
    """Arrow parses 'YYYY-MM-DD HH:MM:SS[.f]' and the ISO 'T' form alike, but parses text
    with an offset ('Z', '+08:00') only as zone-aware and text without one only as naive:
    each kind is parsed apart. A naive value is taken as UTC, which is how every store
    here keeps instants."""
    utc = pa.timestamp(target.unit, "UTC")
    zoned = pc.match_substring_regex(array, _ZONE)
    nothing = pa.scalar(None, array.type)
    instants = pc.cast(pc.if_else(zoned, array, nothing), utc)
    naive = pc.cast(pc.cast(pc.if_else(zoned, nothing, array), pa.timestamp(target.unit)), utc)
    return pc.cast(pc.coalesce(instants, naive), target)


def _temporal_to_text(array: pa.Array, target: pa.DataType) -> pa.Array:
    if pa.types.is_timestamp(array.type) and array.type.tz:
        # %S carries the fraction at the array's unit; the zone as +0000, not Arrow's Z
        return pc.cast(pc.strftime(array, format="%Y-%m-%d %H:%M:%S%z"), target)
    return pc.cast(array, target)  # 'YYYY-MM-DD HH:MM:SS.ffffff', fifteen times faster


def _decimal_to_text(array: pa.Array, target: pa.DataType) -> pa.Array:
    """Plain notation: Arrow, like Java's BigDecimal.toString, writes 0E-10 below 1e-6."""
    text = pc.cast(array, target)
    if not pc.any(pc.match_substring(text, "E")).as_py():
        return text
    return pa.array([None if v is None else format(v, "f") for v in array.to_pylist()], target)


def _short(error: Exception) -> str:
    return str(error).splitlines()[0][:200]
