"""Finding the Jupyter server a kernel belongs to, so that ``PipelineClient()`` needs no
arguments in a notebook.

The candidates, in order: under JupyterHub the user's own server (``JUPYTERHUB_*``
variables, which the single-user server passes to its kernels); then the running servers
listed in the Jupyter runtime directory, the one that started this kernel first. Each is
probed with ``GET /pipeline/api/openapi.json``: the first that answers with the document
runs the extension and accepts the token.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

from .errors import PipelineError

PROBE_PATH = "pipeline/api/openapi.json"
PROBE_TIMEOUT = 3.0
NO_SERVER = ("No Jupyter server with jupyter-offline-pipeline is reachable{tried}: start one with "
             "`jupyter lab` (pip install jupyter-offline-pipeline), or pass "
             "PipelineClient(url=..., token=...)")


@dataclass(frozen=True)
class Server:
    url: str  # the server's base URL, ending with "/"
    token: str
    found_by: str  # "explicit", "JupyterHub" or the runtime file's name


def discover(url: str | None = None, token: str | None = None, *,
             session: requests.Session | None = None, environ: Mapping[str, str] | None = None,
             runtime_dir: str | None = None, timeout: float = PROBE_TIMEOUT) -> Server:
    """An explicit ``url`` as given (not probed: its first request says if it is wrong);
    else the first candidate that answers the probe; else a ``PipelineError`` saying what to
    start. A ``token`` without a ``url`` replaces the candidates' own."""
    if url:
        return Server(base_url(url), token or "", "explicit")
    session = session or requests.Session()
    tried = []
    for server in candidates(os.environ if environ is None else environ, runtime_dir):
        if token:
            server = Server(server.url, token, server.found_by)
        problem = probe(session, server, timeout)
        if problem is None:
            return server
        tried.append(f"{server.url} ({problem})")
    raise PipelineError(None, NO_SERVER.format(tried=f" (tried {'; '.join(tried)})" if tried else ""))


def candidates(environ: Mapping[str, str], runtime_dir: str | None = None) -> list[Server]:
    return _dedup([*hub_servers(environ), *runtime_servers(runtime_dir)])


def hub_servers(environ: Mapping[str, str]) -> list[Server]:
    """The user's server under JupyterHub: its own URL (``JUPYTERHUB_SERVICE_URL``, set by
    JupyterHub 2+), else the service prefix on the hub API's host; the API token is the
    user's."""
    token, prefix = environ.get("JUPYTERHUB_API_TOKEN"), environ.get("JUPYTERHUB_SERVICE_PREFIX")
    if not token or not prefix:
        return []
    urls = []
    if service_url := environ.get("JUPYTERHUB_SERVICE_URL"):
        parts = urlsplit(service_url)
        urls.append(urlunsplit(parts._replace(netloc=_reachable(parts), path=parts.path.rstrip("/") or prefix)))
    for variable in ("JUPYTERHUB_HOST", "JUPYTERHUB_API_URL"):  # the public host (subdomains), the hub's
        if value := environ.get(variable):
            parts = urlsplit(value if "//" in value else f"//{value}")
            urls.append(urlunsplit((parts.scheme or "http", _reachable(parts), prefix, "", "")))
    return [Server(base_url(u), token, "JupyterHub") for u in urls]


def runtime_servers(runtime_dir: str | None = None) -> list[Server]:
    """The running servers of the runtime directory, best first: the one whose process
    started this kernel, then those whose root directory holds the kernel's working
    directory (the deepest root first), then the others."""
    from jupyter_server.serverapp import list_running_servers

    cwd, ancestors = Path.cwd().resolve(), _ancestor_pids()

    def rank(info: dict) -> tuple:
        root = Path(info.get("root_dir") or info.get("notebook_dir") or "/").expanduser().resolve()
        return info.get("pid") not in ancestors, not cwd.is_relative_to(root), -len(root.parts)

    servers = []
    for info in sorted(list_running_servers(runtime_dir), key=rank):
        if info.get("sock"):  # a Unix socket: requests cannot speak to it
            continue
        found_by = f"jpserver-{info.get('pid')}.json"
        scheme = "https" if info.get("secure") else "http"
        loopback = f"{scheme}://127.0.0.1:{info.get('port')}{info.get('base_url', '/')}"
        servers += [Server(base_url(u), info.get("token") or "", found_by) for u in (info.get("url"), loopback) if u]
    return servers


def probe(session: requests.Session, server: Server, timeout: float = PROBE_TIMEOUT) -> str | None:
    """None when the server runs the extension and takes the token, else why not."""
    try:
        response = session.get(server.url + PROBE_PATH, headers=auth_headers(server.token), timeout=timeout)
    except requests.RequestException as error:
        return f"unreachable: {type(error).__name__}"
    if response.status_code in (401, 403):
        return "the token was refused"
    if response.status_code == 404:
        return "the extension is not enabled"
    try:
        ok = response.ok and "openapi" in response.json()
    except ValueError:
        ok = False
    return None if ok else f"answered {response.status_code}"


def auth_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"token {token}"} if token else {}


def base_url(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _reachable(parts) -> str:
    """The netloc, with a wildcard bind address (0.0.0.0, ::, empty) as loopback."""
    host = parts.hostname or ""
    if host in ("", "0.0.0.0", "::"):
        return f"127.0.0.1:{parts.port}" if parts.port else "127.0.0.1"
    return parts.netloc


def _ancestor_pids() -> set[int]:
    """This process's ancestors, read from /proc where there is one (Linux), else the
    parent only: a kernel is the server's child, or its grandchild through a nanny."""
    found, pid = set(), os.getppid()
    while pid > 1 and pid not in found:
        found.add(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            pid = int(stat.rsplit(")", 1)[1].split()[1])  # the field after the command's name
        except (OSError, ValueError, IndexError):
            break
    return found


def _dedup(servers: Iterable[Server]) -> list[Server]:
    seen: dict[tuple[str, str], Server] = {}
    for server in servers:
        seen.setdefault((server.url, server.token), server)
    return list(seen.values())
