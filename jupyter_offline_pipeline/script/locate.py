"""Where things are in a JSON text: JSON pointers to lines and columns, and syntax errors
that point at their cause (a trailing comma, a comment, a quote) rather than at where the
parser gave up."""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any, NamedTuple

# One token of JSON text: a string, a punctuation mark, or a bare literal (number, true...).
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+', re.DOTALL)
_LITERAL = re.compile(r'[^\s{}\[\]:,"\']+')
_NOT_JSON = {"True": "true", "False": "false", "None": "null", "undefined": "null", "NULL": "null"}
_NON_FINITE = {"NaN", "Infinity", "-Infinity"}
_CLOSER = {"{": "}", "[": "]"}


class Position(NamedTuple):
    line: int
    column: int


class JsonSyntaxError(ValueError):
    """Text that is not JSON, with the 1-based line and column of the cause."""

    def __init__(self, message: str, position: Position) -> None:
        super().__init__(f"{position.line}:{position.column} {message}")
        self.message = message
        self.line, self.column = position


def join_pointer(pointer: str, key: str | int) -> str:
    """The pointer of ``key`` inside the value at ``pointer`` (RFC 6901 escaping)."""
    return f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}"


def position_of(text: str, offset: int) -> Position:
    return Position(text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset))


class PositionIndex:
    """The line and column of every value (and key) of a valid JSON text, by JSON pointer."""

    def __init__(self, text: str) -> None:
        self._line_starts = [0, *(match.end() for match in re.finditer("\n", text))]
        self._values: dict[str, int] = {}
        self._keys: dict[str, int] = {}
        self.duplicate_keys: list[tuple[str, Position]] = []
        self._scan(text)

    def value(self, pointer: str) -> Position:
        """Where the value at ``pointer`` starts; for a pointer to nothing (a missing
        key), where its nearest existing parent starts."""
        while pointer not in self._values:
            pointer = pointer.rpartition("/")[0]
        return self._position(self._values[pointer])

    def key(self, pointer: str) -> Position:
        """Where the key naming the value at ``pointer`` starts (array items and the root
        have none: their value's position)."""
        if pointer in self._keys:
            return self._position(self._keys[pointer])
        return self.value(pointer)

    def _position(self, offset: int) -> Position:
        line = bisect_right(self._line_starts, offset)
        return Position(line, offset - self._line_starts[line - 1] + 1)

    def _scan(self, text: str) -> None:
        stack: list[_Container] = []  # the objects and arrays open at this token
        for match in _TOKEN.finditer(text):
            token, offset = match.group(), match.start()
            if token in (",", ":"):
                continue
            if token in ("}", "]"):
                stack.pop()
                continue
            container = stack[-1] if stack else None
            if container is not None and not container.is_array and container.key is None:
                container.key, container.key_offset = _key_name(token), offset
                continue
            pointer = container.next_pointer() if container else ""
            if container and not container.is_array:
                if pointer in self._keys:
                    self.duplicate_keys.append((pointer, self._position(container.key_offset)))
                self._keys[pointer] = container.key_offset
            if token in _NON_FINITE:
                raise JsonSyntaxError(f"{token} is not a JSON number", self._position(offset))
            self._values[pointer] = offset
            if token in _CLOSER:
                stack.append(_Container(pointer, is_array=token == "["))


@dataclass(slots=True)
class _Container:
    """An object or array being scanned: where it is, and where its next value goes."""

    pointer: str
    is_array: bool
    items: int = 0
    key: str | None = None  # in an object, the key read and waiting for its value
    key_offset: int = 0

    def next_pointer(self) -> str:
        if self.is_array:
            self.items += 1
            return join_pointer(self.pointer, self.items - 1)
        pointer, self.key = join_pointer(self.pointer, self.key or ""), None
        return pointer


def load_json(text: str) -> tuple[Any, PositionIndex]:
    """The value of ``text`` and its position index; raises JsonSyntaxError."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        message, offset = _explain(text, error)
        raise JsonSyntaxError(message, position_of(text, offset)) from None
    except RecursionError:
        raise JsonSyntaxError("the script nests too deeply", Position(1, 1)) from None
    return value, PositionIndex(text)


def _explain(text: str, error: json.JSONDecodeError) -> tuple[str, int]:
    """A message naming the cause of ``error`` and the offset of that cause."""
    pos, reason = error.pos, error.msg
    for prefix, message in _STRING_REASONS.items():
        if reason.startswith(prefix):
            return message, pos
    if not text.strip():
        return "the script is empty", 0
    char = text[pos] if pos < len(text) else ""
    before = len(text[:pos].rstrip())  # just past the last token before the error
    opened = _open_brackets(text, pos)
    if not char:
        return f"the script ends before {_describe_open(text, opened[-1])} is closed", before
    if char == "'":
        return "strings and key names must be in double quotes, not single quotes", pos
    if char in "/#":
        return "comments are not allowed in JSON", pos
    if char in "}]" and text[before - 1 : before] == ",":
        return f"trailing comma before '{char}' is not allowed in JSON", before - 1
    if reason == "Extra data":
        return "unexpected text after the end of the script", pos
    if char in "}]" and opened and _CLOSER[text[opened[-1]]] != char:
        return f"'{char}' does not close {_describe_open(text, opened[-1])}", pos
    literal = _literal_at(text, pos)
    if literal and (literal[1] < pos or not reason.endswith("delimiter")):
        return _bad_literal(literal[0], reason), literal[1]
    if reason.startswith("Expecting property name"):
        return "expected a key name in double quotes", pos
    if reason == "Expecting value":
        return f"expected a value, found '{char}'", pos
    if reason == "Expecting ':' delimiter":
        return "expected ':' after the key name", before
    closer = _CLOSER[text[opened[-1]]]
    return f"expected ',' or '{closer}' after the value (is a comma missing?)", before


_STRING_REASONS = {
    "Unterminated string": "unterminated string: the closing double quote is missing",
    "Invalid control character": "line break or control character inside a string (write \\n, \\t...)",
    "Invalid \\escape": "invalid escape in a string (a backslash is written \\\\)",
    "Invalid \\uXXXX escape": "invalid \\uXXXX escape in a string",
    "Unexpected UTF-8 BOM": "the script starts with a byte order mark",
}


def _open_brackets(text: str, end: int) -> list[int]:
    """Offsets of the brackets still open at ``end`` (the text before it is valid)."""
    stack: list[int] = []
    for match in _TOKEN.finditer(text, 0, end):
        if match.group() in _CLOSER:
            stack.append(match.start())
        elif match.group() in ("}", "]"):
            stack.pop()
    return stack


def _describe_open(text: str, offset: int) -> str:
    line, column = position_of(text, offset)
    return f"the '{text[offset]}' at line {line}, column {column}"


def _literal_at(text: str, pos: int) -> tuple[str, int] | None:
    """The bare word around ``pos`` (``True``, ``01``, ``key``) and where it starts."""
    start = pos
    while start > 0 and _LITERAL.fullmatch(text[start - 1]):
        start -= 1
    match = _LITERAL.match(text, start)
    return (match.group(), start) if match and match.end() > pos else None


def _bad_literal(word: str, reason: str) -> str:
    if reason.startswith("Expecting property name"):
        return f"key names must be in double quotes (got {word})"
    if word in _NOT_JSON:
        return f"{word} is not JSON: write {_NOT_JSON[word]}"
    if word[0] in "-+.0123456789":
        return f"{word} is not a valid JSON number"
    return f"{word} is not a JSON value (strings need double quotes)"


def _key_name(token: str) -> str:
    return json.loads(token) if "\\" in token else token[1:-1]
