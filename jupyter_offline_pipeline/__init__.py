"""Batch data integration for Jupyter: offline pipeline scripts."""

__version__ = "0.1.0"


def _jupyter_server_extension_points() -> list[dict]:
    # imported here so that the command line never loads the Jupyter server
    from .server.extension import OfflinePipelineApp

    return [{"module": "jupyter_offline_pipeline.server.extension", "app": OfflinePipelineApp}]
