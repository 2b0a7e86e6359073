"""The frontend's own suites, so that the one test command runs everything: the Jest unit
tests of labextension/ and the Galata UI tests of ui-tests/, in Debian's Chromium against
a real JupyterLab with the extension. Without Node.js or Chromium they skip, except
under CI=true, where they fail."""

from __future__ import annotations

import os
import shutil
import subprocess
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
    env = {**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1", "CI": "true"}
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
