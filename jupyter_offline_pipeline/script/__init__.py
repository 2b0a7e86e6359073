"""The JSON script of an offline pipeline task: its model, JSON Schema, validation with
line and column, DataX import, and parameters."""

from .datax import convert_datax, is_datax
from .diagnostics import Diagnostic, ScriptError, has_errors
from .locate import JsonSyntaxError, PositionIndex, load_json
from .model import (
    BUILTIN_STEP_TYPES,
    STEP_TYPES,
    ErrorLimit,
    FileColumn,
    FileReaderParams,
    FileWriterParams,
    Hop,
    Order,
    RelationalReaderParams,
    RelationalWriterParams,
    Script,
    Setting,
    Speed,
    Step,
    register_step_type,
    script_json_schema,
)
from .validate import MAX_SCRIPT_LENGTH, parse_script, validate_script

__all__ = [
    "BUILTIN_STEP_TYPES",
    "MAX_SCRIPT_LENGTH",
    "STEP_TYPES",
    "Diagnostic",
    "ErrorLimit",
    "FileColumn",
    "FileReaderParams",
    "FileWriterParams",
    "Hop",
    "JsonSyntaxError",
    "Order",
    "PositionIndex",
    "RelationalReaderParams",
    "RelationalWriterParams",
    "Script",
    "ScriptError",
    "Setting",
    "Speed",
    "Step",
    "convert_datax",
    "has_errors",
    "is_datax",
    "load_json",
    "parse_script",
    "register_step_type",
    "script_json_schema",
    "validate_script",
]
