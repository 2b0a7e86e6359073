"""The frontend's own suites, so that the one test command runs everything: the Jest unit
tests of labextension/, the Galata UI tests of ui-tests/, in Debian's Chromium against
a real JupyterLab with the extension, and the wheel built from a clean copy of the
repository. Without Node.js or Chromium they skip, except under CI=true, where they fail."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def _require(what: str, present: bool) -> None:
    if not present:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{what} is missing")
        pytest.skip(f"{what} is missing")


def _jlpm(args: list[str], cwd: Path, timeout: float) -> None:
    jlpm = shutil.which("jlpm")
    _require("jlpm (from jupyter-builder, installed by the test extra)", jlpm is not None)
    # CI=true for Playwright (no test.only, no reused server); the seed procedure's databases
    # are required only when the test run itself is CI's
    env = {**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1", "CI": "true",
           "PIPELINE_UI_REQUIRE_DATABASES": "1" if os.environ.get("CI") == "true" else "0"}
    result = subprocess.run([jlpm, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"jlpm {' '.join(args)} failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"


def test_labextension_unit_tests():
    _require("labextension/node_modules (pip install -e . runs jlpm install)",
             (ROOT / "labextension" / "node_modules").is_dir())
    _jlpm(["test"], ROOT / "labextension", timeout=600)


def test_ui_in_chromium():
    _require(f"Chromium at {CHROMIUM} (Debian's chromium package)", Path(CHROMIUM).exists())
    _jlpm(["install"], ROOT / "ui-tests", timeout=900)
    _jlpm(["playwright", "test"], ROOT / "ui-tests", timeout=1800)


def _clean_copy(dest: Path) -> None:
    """The repository's tracked files (as they are in the work tree) and nothing else:
    no node_modules, no lib/, no earlier build in jupyter_offline_pipeline/labextension."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if not source.exists() and not source.is_symlink():
            continue  # deleted in the work tree, not yet in git
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)


def test_wheel_from_a_clean_checkout_ships_the_labextension(tmp_path):
    """`pip wheel` of a clean copy builds the labextension (jlpm install, build:prod through
    the jupyter-builder hook) and ships it with the server's config, so that a plain
    `pip install` of the wheel gives `jupyter labextension list` ... enabled OK."""
    _require("git", shutil.which("git") is not None and (ROOT / ".git").exists())
    _require("Node.js (the wheel build runs jlpm)", shutil.which("node") is not None)
    source, dist = tmp_path / "src", tmp_path / "dist"
    _clean_copy(source)
    assert not (source / "jupyter_offline_pipeline" / "labextension").exists()
    assert not (source / "labextension" / "node_modules").exists()
    started = time.monotonic()
    env = {**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"}
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", str(dist), str(source)],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    took = time.monotonic() - started
    assert result.returncode == 0, f"pip wheel failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    wheels = list(dist.glob("jupyter_offline_pipeline-*.whl"))
    assert len(wheels) == 1, wheels
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = set(wheel.namelist())
        data = next(n.split("/")[0] for n in names if n.endswith(".data/data/etc/jupyter/jupyter_server_config.d/"
                                                                  "jupyter_offline_pipeline.json"))
        share = f"{data}/data/share/jupyter/labextensions/jupyter-offline-pipeline"
        server_config = json.loads(wheel.read(f"{data}/data/etc/jupyter/jupyter_server_config.d/"
                                              "jupyter_offline_pipeline.json"))
        package = json.loads(wheel.read(f"{share}/package.json"))
        install = json.loads(wheel.read(f"{share}/install.json"))
    assert server_config["ServerApp"]["jpserver_extensions"]["jupyter_offline_pipeline"] is True
    assert package["name"] == "jupyter-offline-pipeline"
    assert install["packageName"] == "jupyter-offline-pipeline"
    # the static bundle: the entry point the package.json names, the style, the chunks
    build = package["jupyterlab"]["_build"]
    assert f"{share}/{build['load']}" in names, build
    assert f"{share}/static/style.js" in names
    chunks = [n for n in names if n.startswith(f"{share}/static/") and n.endswith(".js")]
    assert len(chunks) >= 3, chunks
    # a production build (no source maps) and nothing of the build's tools
    assert not [n for n in names if n.endswith(".js.map")]
    assert not [n for n in names if "node_modules" in n or n.startswith(("labextension/", "ui-tests/"))]
    print(f"wheel built from a clean copy in {took:.0f} s")
