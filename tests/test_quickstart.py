"""The README's run command, `jupyter pipeline demo --lab`: the demo runs, its task goes to
production, and JupyterLab starts with the extension and prints its URL, where the
sidebar's REST API shows the demo task and the Operation Center its schedule."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time

import requests


def test_demo_lab_starts_jupyterlab_with_the_demo_task_in_production(tmp_path):
    env = {**os.environ, "JUPYTER_PORT": str(_free_port()), "JUPYTER_DATA_DIR": str(tmp_path / "data"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "run"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_PIPELINE_DB_URL": f"sqlite:///{tmp_path / 'store.db'}"}
    env.pop("JUPYTER_PIPELINE_ENCRYPTION_KEY", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyter_offline_pipeline.cli", "demo", "--lab", "--dir", str(tmp_path / "demo")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        url, seen = None, []
        deadline = time.monotonic() + 240
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line or process.poll() is None, "".join(seen)
            seen.append(line)
            if match := re.search(r"(http://(?:localhost|127\.0\.0\.1):\d+/lab\?token=\w+)", line):
                url = match.group(1)
        assert url, "".join(seen)
        assert "SUCCESS" in "".join(seen) and "task 'orders_daily' of project 'default': published" in "".join(seen)
        base, token = url.replace("localhost", "127.0.0.1").split("/lab?token=")
        headers = {"Authorization": f"token {token}"}
        assert _get(f"{base}/lab", headers).status_code == 200
        extensions = _get(f"{base}/lab/api/extensions", headers).json()
        assert any(e["name"] == "jupyter-offline-pipeline" and e["enabled"] for e in extensions)
        production = _get(f"{base}/pipeline/api/operations/tasks", headers).json()
        assert [t["name"] for t in production] == ["orders_daily"]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, headers: dict) -> requests.Response:
    """GET, retrying while the server is still coming up."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return requests.get(url, headers=headers, timeout=30)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
