"""The Jupyter server extension: REST handlers over the services, and the OpenAPI document."""

from .extension import OfflinePipelineApp

__all__ = ["OfflinePipelineApp"]
