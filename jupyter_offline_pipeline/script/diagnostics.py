"""The one shape of a problem found in a script, shared by the server, the editor and the CLI."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

ERROR = "error"
WARNING = "warning"
INFO = "info"


@dataclass(frozen=True)
class Diagnostic:
    """One problem: where it is (JSON pointer, 1-based line and column) and what it is.

    ``source`` names the check that found it: ``syntax``, ``schema``, ``script``,
    ``parameters``, ``catalog``, ``datax``...
    """

    severity: str
    message: str
    pointer: str = ""
    line: int = 1
    column: int = 1
    source: str = "script"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def format(self) -> str:
        return f"{self.line}:{self.column} {self.severity} {self.message} ({self.pointer})"


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(diagnostic.severity == ERROR for diagnostic in diagnostics)


class ScriptError(Exception):
    """A script that cannot be used; ``diagnostics`` says every reason why."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics = list(diagnostics)
        super().__init__("\n".join(diagnostic.format() for diagnostic in self.diagnostics))

    @classmethod
    def single(cls, message: str, *, pointer: str = "", source: str = "script") -> ScriptError:
        """A ScriptError of one error found outside the text (at its start)."""
        return cls([Diagnostic(ERROR, message, pointer, source=source)])
