"""The typed model of a pipeline script (the DataWorks "version 2.0" layout) and the one
JSON Schema the server serves and the editor completes from.

The models check what a field can check on its own (types, enums, ranges, a writer column
being a name); rules across fields live in ``validate.py``, so that every problem is
reported at once even while some fields are wrong.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializeAsAny,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_serializer,
    model_validator,
)

# Step type -> family; the family decides which parameters a step takes.
BUILTIN_STEP_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "mysql": "relational",
        "postgresql": "relational",
        "sqlite": "relational",
        "duckdb": "relational",
        "csv": "file",
        "parquet": "file",
        "jsonl": "file",
    }
)
STEP_TYPES: dict[str, str] = dict(BUILTIN_STEP_TYPES)  # and those plugins register

# The value types of file columns (those the file connectors read and write).
FILE_COLUMN_TYPES = (
    "string", "long", "bigint", "int", "double", "float", "boolean",
    "bytes", "date", "datetime", "timestamp", "timestamptz",
)

SCHEMA_PATH = Path(__file__).with_name("schemas") / "script.schema.json"

_IDENTIFIER = re.compile(r'[^\W\d][\w$]*|`[^`]+`|"[^"]+"|\[[^\]]+\]')
_CONSTANT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|'.*'|(?i:null|true|false)", re.DOTALL)
# Spelled out case by case: JSON Schema patterns (ECMA 262) have no inline flags.
_DECIMAL = r"[dD][eE][cC][iI][mM][aA][lL]\s*\(\s*\d+\s*(,\s*\d+\s*)?\)"


# --- field types ------------------------------------------------------------------------


def _writer_column(value: str) -> str:
    if _CONSTANT.fullmatch(value):
        raise ValueError("must be a column name: a writer takes no constants")
    if value != "*" and not _IDENTIFIER.fullmatch(value):
        raise ValueError("must be a column name: a writer takes no expressions")
    return value


def _single_column(value: str) -> str:
    if value and not _IDENTIFIER.fullmatch(value):
        raise ValueError("must be a single column name")
    return value


def _known_encoding(value: str) -> str:
    try:
        codecs.lookup(value)
    except LookupError:
        raise ValueError("must be a known text encoding such as utf-8 or gbk") from None
    return value


def _column_type(value: str) -> str:
    if value.strip().lower() not in FILE_COLUMN_TYPES and not re.fullmatch(_DECIMAL, value.strip()):
        raise ValueError(f"must be one of {', '.join(FILE_COLUMN_TYPES)} or decimal(p,s)")
    return value


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _as_file_column(value: Any) -> Any:
    if isinstance(value, str):
        return {"name": value}
    if not isinstance(value, dict):
        raise ValueError("must be a column name or an object with a name and a type")
    return value


Name = Annotated[str, Field(min_length=1)]
Tables = Annotated[
    list[Name],
    BeforeValidator(_as_list, json_schema_input_type=str | list[str]),  # one name is a list of one
    Field(min_length=1),
]
WriterColumn = Annotated[Name, AfterValidator(_writer_column)]
SingleColumn = Annotated[str, AfterValidator(_single_column)]
Encoding = Annotated[str, AfterValidator(_known_encoding)]
ColumnType = Annotated[
    str,
    AfterValidator(_column_type),
    WithJsonSchema(
        {"anyOf": [{"enum": list(FILE_COLUMN_TYPES)}, {"type": "string", "pattern": f"^{_DECIMAL}$"}]}
    ),
]


class _Model(BaseModel):
    # Strict, because a script is JSON: "1024" is not a number, "false" is not a boolean.
    model_config = ConfigDict(extra="forbid", strict=True)


# --- relational (database) steps ------------------------------------------------------


class RelationalReaderParams(_Model):
    """What a database reader reads: tables (or one query), columns, a filter, a split."""

    datasource: Name = Field(description="Name of the data source to read from.")
    table: Tables | None = Field(
        None,
        description="Tables to read (a single name is accepted too); several tables of "
        "one shape are read as a union. Needed unless querySql is set.",
    )
    column: list[Name] = Field(
        ["*"],
        min_length=1,
        description='Columns to read; ["*"] reads them all. Constants ("1", "\'text\'", '
        '"null") and expressions are allowed.',
    )
    where: str = Field("", description="Filter spliced into the generated query; empty reads every row.")
    splitPk: SingleColumn = Field(
        "",
        description="An integer column: the read is split into ranges read by "
        "setting.speed.concurrent channels. Empty reads with one channel.",
    )
    querySql: str | None = Field(None, description="A query run instead of table, column and where.")
    fetchSize: int | None = Field(
        None, gt=0, description="Rows fetched per round trip; the connector's default when absent."
    )


class RelationalWriterParams(_Model):
    """Where a database writer writes, and what it does with rows that already exist."""

    datasource: Name = Field(description="Name of the data source to write to.")
    table: Name = Field(description="The table to write to.")
    column: list[WriterColumn] = Field(
        min_length=1,
        description='Columns to write, in the order the reader yields them; ["*"] writes '
        "them all. Column names only: no constants or expressions.",
    )
    writeMode: Literal["insert", "replace", "update", "ignore"] = Field(
        "insert",
        description="insert: plain insert; replace: overwrite the row on a key conflict; "
        "update: update the row on a key conflict; ignore: skip the row on a key conflict.",
    )
    preSql: list[str] = Field(
        [], description="Statements run before writing; @table stands for the table."
    )
    postSql: list[str] = Field(
        [], description="Statements run after writing; @table stands for the table."
    )
    batchSize: int | None = Field(
        None, gt=0,
        description="Rows written and committed at a time; by default each batch as read "
        "(the reader's fetchSize). Smaller batches isolate dirty records sooner.",
    )
    truncate: bool = Field(False, description="Empty the table before writing.")


# --- file steps -------------------------------------------------------------------------


class FileColumn(_Model):
    """A column of a file: by name (or by position, DataX style), with its value type."""

    name: Name | None = Field(None, description='Column name; "*" stands for every column.')
    index: int | None = Field(
        None, ge=0, description="Position in the line, from 0 (for files without header)."
    )
    type: ColumnType | None = Field(
        None,
        description="Value type (long, double, string, date, timestamp, decimal(p,s)...); when "
        "absent, the file's own (parquet, json) or string (csv).",
    )

    @model_validator(mode="after")
    def _named_or_placed(self) -> FileColumn:
        if self.name is None and self.index is None:
            raise ValueError("must have a name or an index")
        return self

    @model_serializer(mode="wrap")
    def _name_alone(self, dump: SerializerFunctionWrapHandler) -> Any:
        """A column given by name alone is written as its name, as the user wrote it."""
        return self.name if self.index is None and self.type is None else dump(self)


FileColumnSpec = Annotated[
    FileColumn, BeforeValidator(_as_file_column, json_schema_input_type=str | FileColumn)
]


class _FileParams(_Model):
    datasource: Name | None = Field(None, description="Name of a file data source (a folder).")
    path: Name = Field(
        description="The file's path (for a reader, a glob too), relative to the data source's folder if any."
    )
    column: list[FileColumnSpec] = Field(
        ["*"],
        min_length=1,
        validate_default=True,
        description='Columns, as names or {"name", "type"} objects; ["*"] is every column.',
    )
    fieldDelimiter: str = Field(
        ",", min_length=1, max_length=1, description="Field separator of csv files."
    )
    encoding: Encoding = Field("utf-8", description="Text encoding of csv and json lines files.")
    header: bool = Field(True, description="Whether the first line of a csv file names the columns.")
    nullFormat: str = Field("", description="The text that stands for NULL in csv files.")
    compress: Literal["none", "gzip", "bzip2", "zstd", "snappy", "lz4", "brotli"] | None = Field(
        None,
        description="Compression codec: gzip, bzip2 or zstd for text (found from the file "
        "extension when absent); the codec inside the file for parquet (snappy when absent).",
    )


class FileReaderParams(_FileParams):
    """The files a file reader reads."""

    fetchSize: int | None = Field(None, gt=0, description="Rows per batch read from parquet files.")


class FileWriterParams(_FileParams):
    """The file a file writer writes, and what happens to one already there."""

    writeMode: Literal["truncate", "append", "nonConflict"] = Field(
        "truncate",
        description="truncate: replace the file; append: add to it; nonConflict: fail if it exists.",
    )


_PARAMETER_MODELS: dict[str, dict[str, type[_Model]]] = {
    "relational": {"reader": RelationalReaderParams, "writer": RelationalWriterParams},
    "file": {"reader": FileReaderParams, "writer": FileWriterParams},
}
StepParameters = RelationalReaderParams | RelationalWriterParams | FileReaderParams | FileWriterParams


def register_step_type(name: str, family: str) -> None:
    """Make ``name`` a step type taking the parameters of ``family`` (for plugins)."""
    if family not in _PARAMETER_MODELS:
        raise ValueError(f"unknown step family {family!r}: one of {', '.join(_PARAMETER_MODELS)}")
    STEP_TYPES[name] = family


def parameter_model(step_type: Any, category: Any) -> type[_Model] | None:
    """The parameters model of a step, or None when its type or category is unknown."""
    if not isinstance(step_type, str) or not isinstance(category, str):
        return None
    return _PARAMETER_MODELS.get(STEP_TYPES.get(step_type, ""), {}).get(category)


# --- the script -------------------------------------------------------------------------


class Step(_Model):
    """One reader or writer of the script."""

    # stepType and category come before parameter: its validator reads them.
    stepType: str = Field(description="What the step reads or writes: mysql, postgresql, csv...")
    category: Literal["reader", "writer"] = Field(description="Whether the step reads or writes.")
    name: Name = Field(description="The step's name, which hops refer to.")
    # Typed by stepType and category, so dumped as what it is rather than as the union.
    parameter: SerializeAsAny[StepParameters] = Field(
        description="The step's parameters; which ones depends on stepType."
    )

    @property
    def family(self) -> str:
        return STEP_TYPES[self.stepType]

    @field_validator("stepType")
    @classmethod
    def _registered(cls, value: str) -> str:
        if value not in STEP_TYPES:
            raise ValueError(f"must be one of {', '.join(sorted(STEP_TYPES))}")
        return value

    @field_validator("parameter", mode="plain", json_schema_input_type=StepParameters)
    @classmethod
    def _typed_by_step(cls, value: Any, info: ValidationInfo) -> Any:
        model = parameter_model(info.data.get("stepType"), info.data.get("category"))
        if model is None:  # stepType or category is wrong, and reported as such
            return value
        return model.model_validate(value)


class ErrorLimit(_Model):
    """How many dirty records (ones the writer could not write) a run tolerates."""

    record: int | None = Field(
        None, ge=0, description="Most dirty records allowed; 0 allows none. Wins over percentage."
    )
    percentage: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Largest share of dirty records among those read, used when record is "
        "absent. With neither, no dirty record is allowed.",
    )


class Speed(_Model):
    """How fast a run goes: channels, and an optional rate cap."""

    concurrent: int = Field(
        1, ge=1, le=32, description="Number of channels reading and writing in parallel."
    )
    throttle: bool = Field(False, description="Cap the transfer rate at mbps.")
    mbps: float | None = Field(
        None, gt=0, description="The rate cap in MB/s, applied when throttle is true."
    )


class Setting(_Model):
    """Run settings: the error limit and the speed."""

    errorLimit: ErrorLimit = Field(default_factory=ErrorLimit, description="Dirty records tolerated.")
    speed: Speed = Field(default_factory=Speed, description="Channels and rate cap.")


class Hop(_Model):
    """An edge of the step graph: data flows from one step to another."""

    from_: Name = Field(alias="from", description="Name of the step the data comes from.")
    to: Name = Field(description="Name of the step the data goes to.")


class Order(_Model):
    """The order of the steps."""

    hops: list[Hop] = Field([], description="Edges from the reader to the writer.")


class Script(_Model):
    """An offline pipeline script: one reader, one writer, and how to run them."""

    type: Literal["job"] = Field(description='Always "job".')
    version: Literal["2.0"] = Field(description='The script layout version: "2.0".')
    steps: list[Step] = Field(description="Exactly one reader step and one writer step.")
    setting: Setting = Field(default_factory=Setting, description="Error limit and speed.")
    order: Order = Field(default_factory=Order, description="The order of the steps.")

    @property
    def reader(self) -> Step:
        return self._step("reader")

    @property
    def writer(self) -> Step:
        return self._step("writer")

    def _step(self, category: str) -> Step:
        for step in self.steps:
            if step.category == category:
                return step
        raise LookupError(f"the script has no {category} step")

    def to_dict(self) -> dict[str, Any]:
        """The script as JSON data, defaults filled in (what the engine runs)."""
        return self.model_dump(by_alias=True, exclude_none=True)


# --- the JSON Schema ----------------------------------------------------------------------


def script_json_schema(step_types: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The JSON Schema of a script naming ``step_types`` (by default those registered now;
    the packaged file names the built-in ones)."""
    schema = Script.model_json_schema()
    _type_parameters_by_step(schema["$defs"]["Step"], STEP_TYPES if step_types is None else step_types)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def _type_parameters_by_step(schema: dict[str, Any], step_types: Mapping[str, str]) -> None:
    """Make the step schema name the step types, and type ``parameter`` by ``stepType``
    and ``category`` (if/then), so an editor completes the right keys."""
    properties = schema["properties"]
    properties["stepType"]["enum"] = sorted(step_types)
    properties["parameter"] = {"type": "object", "description": properties["parameter"]["description"]}
    schema["allOf"] = [
        {
            "if": {
                "properties": {
                    "stepType": {"enum": sorted(t for t, f in step_types.items() if f == family)},
                    "category": {"const": category},
                },
                "required": ["stepType", "category"],
            },
            "then": {"properties": {"parameter": {"$ref": f"#/$defs/{model.__name__}"}}},
        }
        for family, models in _PARAMETER_MODELS.items()
        for category, model in models.items()
    ]


def write_json_schema(path: Path = SCHEMA_PATH) -> None:
    schema = script_json_schema(BUILTIN_STEP_TYPES)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    write_json_schema()
