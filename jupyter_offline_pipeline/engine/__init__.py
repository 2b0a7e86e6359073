"""The sync engine: run one script from its text to a ``RunSummary``.

``prepare_job`` is the seam the command line, the scheduler's workers and the server's
test runs share: parse (DataX layout accepted), validate against the catalog, resolve
parameters, bind connectors. Anything wrong raises ``ScriptError`` with diagnostics.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..connectors import DataSource
from .runner import Job, RunFailed, run_job
from .stats import ChannelStats, RunSummary, Totals

if TYPE_CHECKING:
    from ..script.params import ParamContext

__all__ = ["ChannelStats", "Job", "RunFailed", "RunSummary", "Totals", "prepare_job", "run_job"]


def prepare_job(
    text: str,
    datasources: Callable[[str], DataSource],
    context: ParamContext,
    datasource_type: Callable[[str], str | None] | None = None,
) -> Job:
    from ..script import ScriptError, parse_script  # the script layer loads pydantic: only when needed
    from ..script.params import ParameterError, resolve

    defined = set(context.custom) | set(context.overrides)
    script = parse_script(text, datasource_type=datasource_type, defined_parameters=defined)
    try:
        resolved = resolve(script.to_dict(), context)
    except ParameterError as error:
        raise ScriptError.single(str(error), source="parameters") from None
    return Job(resolved, datasources)
