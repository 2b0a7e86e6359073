"""The acting user: every service call names one, taken from Jupyter's identity provider
in the server (JupyterHub's user under a hub), from the login name on the command line."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class User:
    name: str
    is_admin: bool = False
