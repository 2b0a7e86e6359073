"""The service's errors, each with the HTTP status the server answers with. A user's
mistake is one of these, never a bare exception: the server turns it into
``{"message", "issues"}`` and never into a 500."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Issue:
    """A problem with one field of a request: what the form shows under that field."""

    field: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass
class ServiceError(Exception):
    message: str
    issues: list[Issue] = field(default_factory=list)
    status: int = 400

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message}
        if self.issues:
            body["issues"] = [i.to_dict() for i in self.issues]
        return body


class InvalidInput(ServiceError):
    """400: the request breaks a rule; ``issues`` name the fields."""

    def __init__(self, message: str, issues: list[Issue] | None = None):
        super().__init__(message, issues or [], 400)


class Forbidden(ServiceError):
    def __init__(self, message: str):
        super().__init__(message, [], 403)


class NotFound(ServiceError):
    def __init__(self, message: str):
        super().__init__(message, [], 404)


class Conflict(ServiceError):
    def __init__(self, message: str, issues: list[Issue] | None = None):
        super().__init__(message, issues or [], 409)
