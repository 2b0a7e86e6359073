"""The one error of the kernel side: what the server said (message, field issues, script
diagnostics), or why no server could be asked."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from ..script.diagnostics import Diagnostic
from ..service.errors import Issue


class PipelineError(Exception):
    """``status`` is the HTTP status of the server's answer: an error status, or 200 when
    the answer says an operation did not succeed (a submit's checks failed, a run failed);
    ``None`` when no server answered. ``issues`` name the request's fields at fault,
    ``diagnostics`` the script's lines."""

    def __init__(self, status: int | None, message: str, issues: Iterable[Issue] = (),
                 diagnostics: Iterable[Diagnostic] = ()):
        self.status = status
        self.message = message
        self.issues = list(issues)
        self.diagnostics = list(diagnostics)
        super().__init__(message)

    @classmethod
    def from_reply(cls, status: int, body: Any, reason: str = "") -> PipelineError:
        """From an error reply ``{"message", "issues"?, "diagnostics"?}``; anything else
        (a proxy's HTML page, an unknown route) keeps its status and reason."""
        if not isinstance(body, dict) or not isinstance(body.get("message"), str):
            return cls(status, f"the server answered {status} {reason}".strip())
        issues = [Issue(str(i.get("field", "")), str(i.get("message", ""))) for i in body.get("issues") or []]
        diagnostics = [diagnostic(d) for d in body.get("diagnostics") or []]
        return cls(status, body["message"], issues, diagnostics)

    def lines(self) -> list[str]:
        return ([self.message] + [f"  {i.field}: {i.message}" for i in self.issues]
                + [f"  {d.format()}" for d in self.diagnostics])

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback: the server's words are the whole story
        lines = self.lines()
        return [f"\x1b[31m{type(self).__name__}\x1b[0m: {lines[0]}", *lines[1:]]


_DIAGNOSTIC_FIELDS = {f.name for f in dataclasses.fields(Diagnostic)}


def diagnostic(data: dict[str, Any]) -> Diagnostic:
    """The server's diagnostic dict as the shared ``Diagnostic`` (unknown keys dropped)."""
    return Diagnostic(**{k: v for k, v in data.items() if k in _DIAGNOSTIC_FIELDS})
