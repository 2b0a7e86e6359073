"""The kernel side: ``PipelineClient`` (the REST API from Python), the ``%pipeline``
magics and the rich views they return."""

from .client import PipelineClient
from .errors import PipelineError

__all__ = ["PipelineClient", "PipelineError"]
