"""Batch data integration for Jupyter: offline pipeline scripts."""

__version__ = "0.1.0"

__all__ = ["PipelineClient", "PipelineError", "load_ipython_extension", "schedule_form", "create_task_form",
           "datasource_form"]


def _jupyter_server_extension_points() -> list[dict]:
    # imported here so that the command line never loads the Jupyter server
    from .server.extension import OfflinePipelineApp

    return [{"module": "jupyter_offline_pipeline.server.extension", "app": OfflinePipelineApp}]


def _jupyter_labextension_paths() -> list[dict]:
    # for `jupyter labextension develop . --overwrite` while working on labextension/
    return [{"src": "labextension", "dest": "jupyter-offline-pipeline"}]


def load_ipython_extension(ipython) -> None:
    """``%load_ext jupyter_offline_pipeline``: the ``%pipeline`` magics."""
    from .kernel.magics import load_ipython_extension as load

    load(ipython)


def __getattr__(name: str):
    # the client and the forms on first use only: the server and the command line never import them
    if name in ("PipelineClient", "PipelineError", "schedule_form", "create_task_form", "datasource_form"):
        from . import kernel

        return getattr(kernel, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
