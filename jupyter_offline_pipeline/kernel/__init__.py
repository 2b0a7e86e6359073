"""The kernel side: ``PipelineClient`` (the REST API from Python), the ``%pipeline``
magics and the rich views they return, and the ipywidgets forms (``schedule_form``,
``create_task_form``, ``datasource_form``)."""

from .client import PipelineClient
from .errors import PipelineError

__all__ = ["PipelineClient", "PipelineError", "schedule_form", "create_task_form", "datasource_form"]

FORMS = ("schedule_form", "create_task_form", "datasource_form", "ScheduleForm", "CreateTaskForm",
         "DatasourceForm", "SchemaForm", "FormError")


def __getattr__(name: str):
    # the forms (and ipywidgets) on first use only: the magics and the client do without
    if name in FORMS:
        from . import forms

        return getattr(forms, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
