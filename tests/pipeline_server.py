"""A real Jupyter server with the extension in a subprocess, and real kernels beside it,
for the tests of the client and the magics (what a notebook meets: discovery through the
runtime directory or JupyterHub's variables, a kernel process, IPython's display).

The server runs with a test identity provider that names the user by the token: each
user has one, as under JupyterHub, so a test plays alice and bob on one server. Its own
token (written to the runtime file) is alice's.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty
from typing import Any, Callable, Iterator

import pytest
import requests
from jupyter_client import KernelManager

TOKENS = {"alice": "alice-token", "bob": "bob-token"}
BASE_URL = "/user/alice/"  # as JupyterHub serves a user's server: every URL below a prefix

IDENTITY_CONFIG = f"""
from jupyter_server.auth.identity import IdentityProvider, User

USERS = {{token: name for name, token in {TOKENS!r}.items()}}


class TokenUsers(IdentityProvider):
    # a request acts as the user its token names, as JupyterHub's API tokens do
    async def get_user_token(self, handler):
        name = USERS.get(self.get_token(handler) or "")
        return User(name) if name else None


c.ServerApp.identity_provider_class = TokenUsers
# only this extension: the others cost seconds at each start and nothing here uses them
c.ServerApp.jpserver_extensions = {{name: False for name in (
    "jupyterlab", "jupyter_lsp", "notebook_shim", "jupyter_server_terminals", "notebook", "jupyter_collaboration")}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ServerProcess:
    root: Path  # the server's root directory, where kernels start
    runtime_dir: Path  # holds its jpserver-<pid>.json
    port: int
    process: subprocess.Popen
    env: dict[str, str] = field(repr=False)
    base_url: str = BASE_URL

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.base_url}"

    def api(self, method: str, path: str, user: str = "alice", **kwargs) -> requests.Response:
        return requests.request(method, f"{self.url}pipeline/api{path}",
                                headers={"Authorization": f"token {TOKENS[user]}"}, timeout=60, **kwargs)


@contextmanager
def running_server(base: Path, timeout: float = 60, *, server_config: str = IDENTITY_CONFIG,
                   base_url: str = BASE_URL) -> Iterator[ServerProcess]:
    """``jupyter server`` with the extension, its store an SQLite file and its Jupyter
    directories under ``base``; ready once its runtime file is written and it answers.
    ``server_config`` is its ``jupyter_server_config.py``, ``base_url`` the prefix of its URLs."""
    root, runtime, config, data = (base / name for name in ("root", "runtime", "config", "data"))
    for directory in (root, runtime, config, data):
        directory.mkdir(parents=True, exist_ok=True)
    (config / "jupyter_server_config.py").write_text(server_config)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config), "JUPYTER_RUNTIME_DIR": str(runtime),
           "JUPYTER_DATA_DIR": str(data), "JUPYTER_PIPELINE_DB_URL": f"sqlite:///{base / 'pipeline.db'}"}
    for name in [n for n in env if n.startswith("JUPYTERHUB_")]:
        del env[name]
    port = free_port()
    log = (base / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root", f"--port={port}",
         "--ip=127.0.0.1", f"--ServerApp.token={TOKENS['alice']}", f"--ServerApp.base_url={base_url}",
         f"--ServerApp.root_dir={root}"],
        env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT)
    server = ServerProcess(root, runtime, port, process, env, base_url)
    try:
        deadline = time.monotonic() + timeout
        while not _ready(server):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Jupyter server did not start:\n{(base / 'server.log').read_text()[-3000:]}")
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@contextmanager
def server_with_databases(base: Path) -> Iterator[ServerProcess]:
    """``running_server`` with the data sources ``shop`` and ``warehouse`` (``make_databases``)."""
    with running_server(base) as process:
        shop, warehouse = make_databases(process.root)
        for name, path in (("shop", shop), ("warehouse", warehouse)):
            response = process.api("POST", "/datasources", json={"name": name, "url": f"sqlite:///{path}"})
            assert response.status_code == 201, response.text
        yield process


def _ready(server: ServerProcess) -> bool:
    if not list(server.runtime_dir.glob("jpserver-*.json")):
        return False
    try:
        return server.api("GET", "/openapi.json").status_code == 200
    except requests.RequestException:
        return False


# --- kernels ----------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one execution showed: stream text, each display's plain text and HTML (the
    latest version of an updated display), and the error if it raised."""

    stdout: str = ""
    stderr: str = ""
    texts: list[str] = field(default_factory=list)
    htmls: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None  # ename, evalue, traceback: the execute reply's
    updates: int = 0  # update_display_data messages seen
    versions: list[str] = field(default_factory=list)  # every plain text an updated display had

    @property
    def text(self) -> str:
        return "\n".join([self.stdout, *self.texts, self.stderr])

    @property
    def html(self) -> str:
        return "\n".join(self.htmls)

    @property
    def error_text(self) -> str:
        return "\n".join(self.error["traceback"]) if self.error else ""


class Kernel:
    """A python3 kernel in its own process, with the environment a notebook's kernel has."""

    def __init__(self, cwd: Path, env: dict[str, str], connection_dir: Path):
        connection_dir.mkdir(parents=True, exist_ok=True)
        self.manager = KernelManager(kernel_name="python3",
                                     connection_file=str(connection_dir / f"kernel-{free_port()}.json"))
        self.manager.start_kernel(cwd=str(cwd), env=env)
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def run(self, code: str, timeout: float = 120) -> Outcome:
        outcome = Outcome()
        ids: dict[str, int] = {}  # display_id -> index of its output, for updates

        def hook(message: dict) -> None:
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                setattr(outcome, content["name"], getattr(outcome, content["name"]) + content["text"])
            elif kind in ("display_data", "execute_result", "update_display_data"):
                data, display_id = content["data"], content.get("transient", {}).get("display_id")
                if kind == "update_display_data" and display_id in ids:
                    outcome.updates += 1
                    outcome.versions.append(data.get("text/plain", ""))
                    index = ids[display_id]
                    outcome.texts[index], outcome.htmls[index] = data.get("text/plain", ""), data.get("text/html", "")
                    return
                if display_id:
                    ids[display_id] = len(outcome.texts)
                    outcome.versions.append(data.get("text/plain", ""))
                outcome.texts.append(data.get("text/plain", ""))
                outcome.htmls.append(data.get("text/html", ""))

        try:
            reply = self.client.execute_interactive(code, output_hook=hook, timeout=timeout, allow_stdin=False)
        except Empty:
            raise TimeoutError(f"the kernel did not finish {code!r} in {timeout}s") from None
        if reply["content"]["status"] == "error":  # a UsageError has no error message, only this
            outcome.error = reply["content"]
        return outcome

    def shutdown(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


@contextmanager
def kernel_pool(server: ServerProcess, connections: Callable[[], Path],
                setup: Callable[[Kernel], None]) -> Iterator[Callable[[dict[str, str]], Kernel]]:
    """``start(env)``: a kernel beside ``server`` (its connection file in a fresh
    ``connections()`` folder), ``setup`` run in it; all shut down at the end."""
    started: list[Kernel] = []

    def start(env: dict[str, str]) -> Kernel:
        kernel = Kernel(server.root, env, connections())
        started.append(kernel)
        setup(kernel)
        return kernel

    try:
        yield start
    finally:
        for kernel in started:
            kernel.shutdown()


def notebook_fixtures(setup: str) -> tuple:
    """A kernel test module's module-scoped fixtures, to be unpacked into its namespace:
    ``server`` (with the databases), ``kernels`` (their pool, each kernel running ``setup``
    first), ``alice`` (a notebook's kernel on alice's server: it finds the server in the
    runtime directory) and ``bob`` (his kernel as JupyterHub starts it: no runtime file,
    the hub's variables)."""

    @pytest.fixture(scope="module")
    def server(tmp_path_factory):
        with server_with_databases(tmp_path_factory.mktemp("server")) as process:
            yield process

    @pytest.fixture(scope="module")
    def kernels(server, tmp_path_factory):
        def prepare(kernel: Kernel) -> None:
            out = kernel.run(setup)
            assert out.error is None, out.error_text

        with kernel_pool(server, lambda: tmp_path_factory.mktemp("connections"), prepare) as start:
            yield start

    @pytest.fixture(scope="module")
    def alice(server, kernels) -> Kernel:
        return kernels(kernel_env(server.runtime_dir))

    @pytest.fixture(scope="module")
    def bob(server, kernels, tmp_path_factory) -> Kernel:
        return kernels(kernel_env(tmp_path_factory.mktemp("bob-runtime"), **hub_env(server, "bob")))

    return server, kernels, alice, bob


def kernel_env(runtime_dir: Path, **extra: str) -> dict[str, str]:
    """A kernel's environment: the runtime directory it looks for servers in, and
    (``extra``) JupyterHub's variables when it plays a hub user's kernel."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTERHUB_", "JUPYTER_RUNTIME"))}
    return env | {"JUPYTER_RUNTIME_DIR": str(runtime_dir), **extra}


def hub_env(server: ServerProcess, user: str) -> dict[str, str]:
    """The variables JupyterHub's single-user server passes to its kernels."""
    return {"JUPYTERHUB_API_TOKEN": TOKENS[user], "JUPYTERHUB_SERVICE_PREFIX": BASE_URL,
            "JUPYTERHUB_SERVICE_URL": f"http://0.0.0.0:{server.port}{BASE_URL}",
            "JUPYTERHUB_API_URL": "http://127.0.0.1:1/hub/api", "JUPYTERHUB_USER": user}


def runtime_file(directory: Path, pid: int, port: int, root: Path, token: str = "t") -> Path:
    """A runtime file as a server writes it (for servers that do not answer)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"jpserver-{pid}.json"
    path.write_text(json.dumps({"base_url": "/", "hostname": "127.0.0.1", "password": False, "pid": pid,
                                "port": port, "root_dir": str(root), "secure": False, "sock": "",
                                "token": token, "url": f"http://127.0.0.1:{port}/", "version": "2"}))
    return path


# --- the data a test moves ----------------------------------------------------------------------

ORDERS = 1000


def make_databases(directory: Path) -> tuple[Path, Path]:
    """``shop.db`` with ``orders`` (ORDERS rows) and ``warehouse.db`` with an empty
    ``ods_orders`` keyed by (id, ds), so that each business date adds its own rows."""
    import sqlite3

    shop, warehouse = directory / "shop.db", directory / "warehouse.db"
    with sqlite3.connect(shop) as db:
        db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, amount REAL, customer TEXT)")
        db.executemany("INSERT INTO orders VALUES (?, ?, ?)",
                       [(i, i * 1.25, f"customer {i % 37}") for i in range(ORDERS)])
    with sqlite3.connect(warehouse) as db:
        db.execute("CREATE TABLE ods_orders (id INTEGER, amount REAL, ds TEXT, PRIMARY KEY (id, ds))")
    return shop, warehouse


def sync_script(source: str = "shop", target: str = "warehouse", target_table: str = "ods_orders",
                pre_sql: str = "delete from @table where ds = '${bizdate}'", mbps: float | None = None) -> str:
    """A daily, idempotent copy of the orders for the business date, as a user writes it;
    with ``mbps``, throttled and read 100 rows at a time: a run that lasts (the orders are
    about 28 kB), with progress along the way."""
    slow = ', "fetchSize": 100' if mbps else ""
    speed = f', "throttle": true, "mbps": {mbps}' if mbps else ""
    return f"""{{
  "type": "job",
  "version": "2.0",
  "steps": [
    {{"stepType": "sqlite", "category": "reader", "name": "Reader",
      "parameter": {{"datasource": "{source}", "table": ["orders"],
                    "column": ["id", "amount", "'${{bizdate}}'"]{slow}}}}},
    {{"stepType": "sqlite", "category": "writer", "name": "Writer",
      "parameter": {{"datasource": "{target}", "table": "{target_table}",
                    "column": ["id", "amount", "ds"], "writeMode": "insert",
                    "preSql": ["{pre_sql}"]}}}}
  ],
  "setting": {{"errorLimit": {{"record": 0}}, "speed": {{"concurrent": 2{speed}}}}},
  "order": {{"hops": [{{"from": "Reader", "to": "Writer"}}]}}
}}
"""
