"""The example notebooks of notebooks/, executed from top to bottom by nbclient against a
live Jupyter server with the extension and the real databases, as a person on a laptop
runs them: the server acts as the local user (no per-user tokens), and the kernel has the
server's environment, so discovery finds the server in the runtime directory and
`jupyter pipeline demo` writes to the server's store. Any cell that errors fails its test.

`PIPELINE_SAVE_NOTEBOOKS=1 python -m pytest tests/test_notebooks.py` writes the executed
notebooks back into notebooks/ with their outputs: how the committed outputs are made.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import psycopg
import pymysql
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from conftest import MARIADB_PARAMS, PG_PARAMS, _connect_or_skip
from pipeline_server import ServerProcess, running_server

pytestmark = [pytest.mark.timeout(300), pytest.mark.postgres, pytest.mark.mariadb]

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
LAPTOP_CONFIG = """
# only this extension: the others cost seconds at each start and the notebooks use none
c.ServerApp.jpserver_extensions = {name: False for name in (
    "jupyterlab", "jupyter_lsp", "notebook_shim", "jupyter_server_terminals", "notebook", "jupyter_collaboration")}
"""


def laptop_server(base: Path, timeout: float = 60):
    """``jupyter server`` with the extension as on a laptop: one token, the local user,
    its Jupyter directories and store under ``base``."""
    return running_server(base, timeout, server_config=LAPTOP_CONFIG, base_url="/")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # the notebooks' databases (PIPELINE_POSTGRESQL_URL, PIPELINE_MARIADB_URL: these by default)
    _connect_or_skip("PostgreSQL", lambda: psycopg.connect(
        host=PG_PARAMS["host"], port=PG_PARAMS["port"], user=PG_PARAMS["user"], dbname=PG_PARAMS["database"],
        connect_timeout=5)).close()
    _connect_or_skip("MariaDB", lambda: pymysql.connect(**MARIADB_PARAMS, connect_timeout=5)).close()
    with laptop_server(tmp_path_factory.mktemp("laptop")) as process:
        yield process


def execute(path: Path, server: ServerProcess, cwd: Path) -> nbformat.NotebookNode:
    """Run every cell in a fresh kernel with the server's environment, in ``cwd``."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=180, kernel_name="python3", allow_errors=False, record_timing=False,
                            resources={"metadata": {"path": str(cwd)}})
    client.execute(env=server.env, cwd=str(cwd))
    return notebook


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_notebook_runs_top_to_bottom(name, server):
    try:
        notebook = execute(NOTEBOOKS / name, server, server.root)
    except CellExecutionError as error:
        pytest.fail(f"{name}: a cell failed:\n{error}")
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    if os.environ.get("PIPELINE_SAVE_NOTEBOOKS") == "1":
        nbformat.write(static(notebook), NOTEBOOKS / name)


def static(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook as committed: a form's output keeps its static HTML and text (what
    GitHub, nbviewer and a JupyterLab without the kernel show), not the live widget's
    reference, whose state (hundreds of kB per form) only a running kernel needs."""
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)  # timings: noise in every diff
        for output in cell.get("outputs", []):
            output.get("data", {}).pop(WIDGET_VIEW, None)
    notebook.metadata.pop("widgets", None)
    return notebook


def test_every_notebook_has_its_outputs_committed():
    """The notebooks are documentation: each code cell shows what it did."""
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        code = [c for c in notebook.cells if c.cell_type == "code"]
        assert code and all(c.get("execution_count") for c in code), f"{path.name} is not executed"
        assert not [o for c in code for o in c.get("outputs", []) if o.output_type == "error"], path.name
