"""REST handlers under ``/pipeline/api/``: each parses the request, calls one service
method as the acting user, and writes JSON. Errors are ``{"message", "issues"?}`` with
the service's status; only a bug is a 500, and then with a generic message."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import date, datetime
from functools import partial
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from pydantic import ValidationError
from tornado import web

from ..connectors import ConnectorError
from ..crypto import SecretBox
from ..script import ScriptError, script_json_schema
from ..service.datasources import DataSourceService, parse_url
from ..service.errors import InvalidInput, Issue, ServiceError
from ..service.lineage import lineage_graph, openlineage_for
from ..service.projects import ProjectService
from ..scheduler.operations import OperationCenter
from ..scheduler.scheduler import Scheduler
from ..scheduler.triggers import next_runs
from ..service.schedule import ScheduleConfig, schedule_issues, schedule_json_schema
from ..service.submit import SubmitService
from ..service.tasks import TaskService
from ..service.users import User
from ..service.validation import ScriptValidator
from ..store import Store

API = "/pipeline/api"
SETTINGS_KEY = "offline_pipeline"


@dataclasses.dataclass
class Pipeline:
    """What the handlers share: one store, its services, and who is an administrator."""

    store: Store
    datasources: DataSourceService
    projects: ProjectService
    tasks: TaskService
    submit: SubmitService
    operations: OperationCenter
    validator: ScriptValidator
    admin_users: frozenset[str]
    mode: str  # of projects created without one
    local_user: str | None  # a shared-token server's one user; None: names come from Jupyter
    executor: Executor
    scheduler: Scheduler | None = None  # None: a `jupyter pipeline scheduler` daemon schedules

    @classmethod
    def build(cls, store: Store, secrets: SecretBox, **options: Any) -> Pipeline:
        datasources = DataSourceService(store, secrets)
        return cls(store=store, datasources=datasources, projects=ProjectService(store),
                   tasks=TaskService(store, datasources), submit=SubmitService(store, datasources),
                   operations=OperationCenter(store), validator=ScriptValidator(datasources), **options)


def endpoint(method: Callable) -> Callable:
    """Every endpoint: a logged-in user (401/403 otherwise), allowed by Jupyter's authorizer."""
    return web.authenticated(authorized(method))


class PipelineHandler(APIHandler):
    auth_resource = "pipeline"

    @property
    def pipeline(self) -> Pipeline:
        return self.settings[SETTINGS_KEY]

    @property
    def user(self) -> User:
        pipeline = self.pipeline
        name = pipeline.local_user or self.current_user.username
        return User(name, is_admin=name in pipeline.admin_users)

    def body(self) -> dict[str, Any]:
        """The request's JSON object; anything else is the client's mistake (400)."""
        try:
            value = json.loads(self.request.body or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise web.HTTPError(400, f"the request body is not JSON: {error}") from None
        if not isinstance(value, dict):
            raise web.HTTPError(400, "the request body must be a JSON object")
        return value

    def field(self, body: dict[str, Any], name: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        """One field of the body, of the expected JSON type (400 when missing or wrong)."""
        if body.get(name) is None:  # absent or null: the default, when there is one
            if default is ...:
                raise InvalidInput(f"{name} is required", [Issue(name, "required")])
            return default
        value = body[name]
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _tuple(kind)):
            expected = " or ".join(_JSON_NAMES.get(k, k.__name__) for k in _tuple(kind))
            raise InvalidInput(f"{name} must be {expected}", [Issue(name, f"must be {expected}")])
        if isinstance(value, int) and not -2**63 <= value < 2**63:  # a database integer
            raise InvalidInput(f"{name} is out of range", [Issue(name, "out of range")])
        return value

    def ids(self, body: dict[str, Any], name: str) -> list[int]:
        """A body field that is a list of database ids."""
        values = self.field(body, name, list)
        if not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < 2**63 for i in values):
            raise InvalidInput(f"{name} must be ids", [Issue(name, "integers")])
        return values

    def int_argument(self, name: str, default: int | None = None, digits: int = 9) -> int | None:
        """A non-negative integer query argument (``digits`` long at most: ids and counts fit)."""
        value = self.get_query_argument(name, None)
        if value is None:
            return default
        if not re.fullmatch(rf"[0-9]{{1,{digits}}}", value):
            raise InvalidInput(f"{name} must be a non-negative integer", [Issue(name, "not an integer")])
        return int(value)

    def flag_argument(self, name: str) -> bool:
        value = self.get_query_argument(name, "0")
        if value not in ("0", "1", "false", "true"):
            raise InvalidInput(f"{name} must be 0 or 1", [Issue(name, "0 or 1")])
        return value in ("1", "true")

    async def call(self, function: Callable, *args: Any, **kwargs: Any) -> Any:
        """Run a blocking service call (database, drivers) off the event loop. A change (a
        publish, a run, a rerun, a kill) wakes this server's scheduler to act on it now."""
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(self.pipeline.executor, partial(function, *args, **kwargs))
        if self.request.method != "GET" and self.pipeline.scheduler is not None:
            self.pipeline.scheduler.wake()
        return result

    def reply(self, value: Any, status: int = 200) -> None:
        self.set_status(status)
        if status == 204:
            self.finish()
        else:
            self.finish(json.dumps(value, default=_jsonable))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        status, body = _error_reply(status_code, kwargs.get("exc_info"))
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def log_exception(self, typ, value, tb) -> None:
        # a user's mistake is an answer, not a server fault: no traceback in the log
        if isinstance(value, (ServiceError, ScriptError, ConnectorError)):
            self.log.info("%s %s: %s", self.request.method, self.request.path, value)
        else:
            super().log_exception(typ, value, tb)


def _error_reply(status: int, exc_info) -> tuple[int, dict[str, Any]]:
    error = exc_info[1] if exc_info else None
    if isinstance(error, ServiceError):
        return error.status, error.to_dict()
    if isinstance(error, ScriptError):
        return 400, {"message": "the script is invalid",
                     "diagnostics": [d.to_dict() for d in error.diagnostics]}
    if isinstance(error, ConnectorError):  # the data source could not answer: say why
        return 400, {"message": str(error)}
    if isinstance(error, web.HTTPError):
        return error.status_code, {"message": error.log_message or error.reason or "error"}
    if status < 500:
        return status, {"message": _REASONS.get(status, "error")}
    return 500, {"message": "internal server error; the server log has the details"}


_REASONS = {401: "not authenticated", 403: "forbidden", 404: "not found", 405: "method not allowed"}
_JSON_NAMES = {str: "a string", int: "an integer", bool: "a boolean", dict: "an object",
               list: "an array", float: "a number"}


def _tuple(kind) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _jsonable(value: Any) -> Any:
    """What ``json.dumps`` cannot write itself: service views, pydantic models, dates."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# --- documents --------------------------------------------------------------------------


class OpenAPIHandler(PipelineHandler):
    @endpoint
    async def get(self) -> None:
        from .openapi import openapi_document

        document = openapi_document()
        document["servers"] = [{"url": url_path_join(self.base_url, API)}]  # under JupyterHub too
        self.reply(document)


class ScriptSchemaHandler(PipelineHandler):
    @endpoint
    async def get(self) -> None:
        self.reply(script_json_schema())


class ValidateHandler(PipelineHandler):
    """Live validation for the editor: every diagnostic, the catalog's (permissions,
    tables, columns) included; introspection runs off the event loop."""

    @endpoint
    async def post(self) -> None:
        body = self.body()
        script = self.field(body, "script", str)
        parameters = self.field(body, "parameters", (dict, list), None)
        if isinstance(parameters, dict):  # names and values: the values resolve table names
            parameters = {str(name): str(value) for name, value in parameters.items()}
        elif parameters is not None:
            parameters = [str(name) for name in parameters]
        diagnostics = await self.call(self.pipeline.validator.validate, self.user, script, parameters)
        self.reply({"diagnostics": diagnostics})


class ScheduleSchemaHandler(PipelineHandler):
    @endpoint
    async def get(self) -> None:
        self.reply(schedule_json_schema())


class DataSourceTypesHandler(PipelineHandler):
    @endpoint
    async def get(self) -> None:
        self.reply(self.pipeline.datasources.types_schema())


# --- data sources ---------------------------------------------------------------------------


class DataSourcesHandler(PipelineHandler):
    @endpoint
    async def get(self) -> None:
        self.reply(await self.call(self.pipeline.datasources.list, self.user))

    @endpoint
    async def post(self) -> None:
        """``{name, type, params}``, or ``{name, url}`` in SQLAlchemy form (the CLI's --url)."""
        body = self.body()
        url = self.field(body, "url", str, None)
        if url is not None:
            kind, params = parse_url(url)
            if body.get("type", kind) != kind:
                raise InvalidInput(f"the URL is of type {kind}, not {body['type']}", [Issue("type", "differs from the URL's")])
        else:
            kind, params = self.field(body, "type", str), self.field(body, "params", dict, {})
        info = await self.call(self.pipeline.datasources.add, self.user, self.field(body, "name", str),
                               kind, params, self.field(body, "description", str, ""))
        self.reply(info, 201)


class DataSourceDirectoryHandler(PipelineHandler):
    """Every data source's name, type and owner: what a user may request a permission on."""

    @endpoint
    async def get(self) -> None:
        self.reply(await self.call(self.pipeline.datasources.list_all_names, self.user))


class DataSourceHandler(PipelineHandler):
    @endpoint
    async def get(self, name: str) -> None:
        self.reply(await self.call(self.pipeline.datasources.get, self.user, name))

    @endpoint
    async def patch(self, name: str) -> None:
        body = self.body()
        self.reply(await self.call(self.pipeline.datasources.update, self.user, name,
                                   params=self.field(body, "params", dict, None),
                                   description=self.field(body, "description", str, None)))

    @endpoint
    async def delete(self, name: str) -> None:
        await self.call(self.pipeline.datasources.remove, self.user, name)
        self.reply(None, 204)


class DataSourceTestHandler(PipelineHandler):
    @endpoint
    async def post(self, name: str) -> None:
        # a failed connection is the answer, not an error of the request
        try:
            message = await self.call(self.pipeline.datasources.test, self.user, name)
        except ConnectorError as error:
            self.reply({"ok": False, "message": str(error)})
        else:
            self.reply({"ok": True, "message": message})


class TablesHandler(PipelineHandler):
    @endpoint
    async def get(self, name: str) -> None:
        self.reply({"tables": await self.call(self.pipeline.datasources.tables, self.user, name)})


class ColumnsHandler(PipelineHandler):
    @endpoint
    async def get(self, name: str, table: str) -> None:
        self.reply({"columns": await self.call(self.pipeline.datasources.columns, self.user, name, table)})


class GrantsHandler(PipelineHandler):
    @endpoint
    async def get(self, name: str) -> None:
        self.reply(await self.call(self.pipeline.datasources.grants, self.user, name))

    @endpoint
    async def post(self, name: str) -> None:
        body = self.body()
        grant = await self.call(self.pipeline.datasources.grant, self.user, name,
                                self.field(body, "user", str), self.field(body, "permission", str))
        self.reply(grant, 201)


class GrantHandler(PipelineHandler):
    @endpoint
    async def delete(self, name: str, user: str, permission: str) -> None:
        await self.call(self.pipeline.datasources.revoke, self.user, name, user, permission)
        self.reply(None, 204)


class PermissionRequestsHandler(PipelineHandler):
    """``GET``: the requests the user made and those waiting on the user's decision."""

    @endpoint
    async def get(self) -> None:
        scope = self.get_query_argument("scope", "all")
        if scope not in ("all", "mine", "owned"):
            raise InvalidInput("scope must be all, mine or owned", [Issue("scope", "all, mine or owned")])
        self.reply(await self.call(self.pipeline.datasources.list_requests, self.user,
                                   mine=scope == "mine", owned=scope == "owned",
                                   status=self.get_query_argument("status", None)))


class DataSourceRequestsHandler(PipelineHandler):
    @endpoint
    async def post(self, name: str) -> None:
        body = self.body()
        request = await self.call(self.pipeline.datasources.request_permission, self.user, name,
                                  self.field(body, "permission", str), self.field(body, "reason", str, ""))
        self.reply(request, 201)


class PermissionRequestHandler(PipelineHandler):
    """The owner's decision: ``{"status": "granted" | "refused"}``."""

    @endpoint
    async def patch(self, request_id: str) -> None:
        status = self.field(self.body(), "status", str)
        if status not in ("granted", "refused"):
            raise InvalidInput("status must be granted or refused", [Issue("status", "granted or refused")])
        self.reply(await self.call(self.pipeline.datasources.decide, self.user, int(request_id),
                                   status == "granted"))


# --- projects and folders ---------------------------------------------------------------------


class ProjectsHandler(PipelineHandler):
    @endpoint
    async def get(self) -> None:
        self.reply(await self.call(self.pipeline.projects.list, self.user))

    @endpoint
    async def post(self) -> None:
        body = self.body()
        project = await self.call(self.pipeline.projects.create, self.user, self.field(body, "name", str),
                                  self.field(body, "mode", str, self.pipeline.mode),
                                  self.field(body, "description", str, ""))
        self.reply(project, 201)


class ProjectHandler(PipelineHandler):
    @endpoint
    async def get(self, project_id: str) -> None:
        self.reply(await self.call(self.pipeline.projects.get, self.user, int(project_id)))

    @endpoint
    async def patch(self, project_id: str) -> None:
        mode = self.field(self.body(), "mode", str)
        self.reply(await self.call(self.pipeline.projects.set_mode, self.user, int(project_id), mode))


class TreeHandler(PipelineHandler):
    @endpoint
    async def get(self, project_id: str) -> None:
        self.reply(await self.call(self.pipeline.projects.tree, self.user, int(project_id)))


class FoldersHandler(PipelineHandler):
    @endpoint
    async def post(self, project_id: str) -> None:
        body = self.body()
        folder = await self.call(self.pipeline.projects.create_folder, self.user, int(project_id),
                                 name=self.field(body, "name", str),
                                 parent_id=self.field(body, "parent_id", int, None))
        self.reply(folder, 201)


class FolderHandler(PipelineHandler):
    @endpoint
    async def patch(self, folder_id: str) -> None:
        """Rename (``name``) and/or move (``parent_id``)."""
        body, projects, folder = self.body(), self.pipeline.projects, int(folder_id)
        name, parent_id = self.field(body, "name", str, None), self.field(body, "parent_id", int, None)
        if name is None and parent_id is None:
            raise InvalidInput("give a new name or parent_id", [Issue("name", "name or parent_id")])
        if name is not None:
            info = await self.call(projects.rename_folder, self.user, folder, name)
        if parent_id is not None:
            info = await self.call(projects.move_folder, self.user, folder, parent_id)
        self.reply(info)

    @endpoint
    async def delete(self, folder_id: str) -> None:
        await self.call(self.pipeline.projects.delete_folder, self.user, int(folder_id))
        self.reply(None, 204)


# --- tasks ------------------------------------------------------------------------------------

_TASK_FIELDS = {"name": str, "schedule_type": str, "source_type": str, "source_datasource": str,
                "target_type": str, "target_datasource": str}
_TASK_OPTIONS = {"description": (str, ""), "folder_id": (int, None), "source_table": (str, ""),
                 "target_table": (str, "")}


class TasksHandler(PipelineHandler):
    @endpoint
    async def get(self, project_id: str) -> None:
        self.reply(await self.call(self.pipeline.tasks.list, self.user, int(project_id),
                                   folder_id=self.int_argument("folder_id"),
                                   search=self.get_query_argument("search", None)))

    @endpoint
    async def post(self, project_id: str) -> None:
        """The Create Offline Script dialog: the task, with a script template."""
        body = self.body()
        fields = {key: self.field(body, key, kind) for key, kind in _TASK_FIELDS.items()}
        fields |= {key: self.field(body, key, kind, default) for key, (kind, default) in _TASK_OPTIONS.items()}
        self.reply(await self.call(self.pipeline.tasks.create, self.user, int(project_id), **fields), 201)


class TaskHandler(PipelineHandler):
    @endpoint
    async def get(self, task_id: str) -> None:
        self.reply(await self.call(self.pipeline.tasks.get, self.user, int(task_id), with_script=True))

    @endpoint
    async def patch(self, task_id: str) -> None:
        """Rename (``name``) and/or move (``folder_id``)."""
        body, tasks, task = self.body(), self.pipeline.tasks, int(task_id)
        name, folder_id = self.field(body, "name", str, None), self.field(body, "folder_id", int, None)
        if name is None and folder_id is None:
            raise InvalidInput("give a new name or folder_id", [Issue("name", "name or folder_id")])
        if name is not None:
            info = await self.call(tasks.rename, self.user, task, name)
        if folder_id is not None:
            info = await self.call(tasks.move, self.user, task, folder_id)
        self.reply(info)

    @endpoint
    async def delete(self, task_id: str) -> None:
        """Deleting takes the submit path: at once in a basic project, else a version to publish."""
        remarks = self.get_query_argument("remarks", "")
        self.reply(await self.call(self.pipeline.submit.submit_deletion, self.user, int(task_id), remarks))


class TaskScriptHandler(PipelineHandler):
    @endpoint
    async def put(self, task_id: str) -> None:
        script = self.field(self.body(), "script", str)
        self.reply(await self.call(self.pipeline.tasks.save_draft, self.user, int(task_id), script=script))


class TaskScheduleHandler(PipelineHandler):
    """The body is the schedule configuration itself (``/schemas/schedule``)."""

    @endpoint
    async def put(self, task_id: str) -> None:
        self.reply(await self.call(self.pipeline.tasks.save_draft, self.user, int(task_id),
                                   schedule=self.body()))


class SchedulePreviewHandler(PipelineHandler):
    """The next runs of a schedule configuration (the schedule PUT's body, plus ``count``),
    for the form's preview before anything is saved."""

    @endpoint
    async def post(self) -> None:
        body = self.body()
        count = self.field(body, "count", int, 10)
        if not 1 <= count <= 50:
            raise InvalidInput("count must be 1 to 50", [Issue("count", "1 to 50")])
        try:
            config = ScheduleConfig.model_validate({k: v for k, v in body.items() if k != "count"})
        except ValidationError as error:
            raise InvalidInput("the schedule configuration is invalid", schedule_issues(error)) from None
        self.reply({"runs": await self.call(next_runs, config, count)})  # a cron may search for years


# --- submit, versions, publish --------------------------------------------------------------


class SubmitHandler(PipelineHandler):
    """The checks' results come back whatever they say: ``status`` tells the outcome."""

    @endpoint
    async def post(self, task_id: str) -> None:
        body = self.body()
        self.reply(await self.call(self.pipeline.submit.submit, self.user, int(task_id),
                                   self.field(body, "remarks", str),
                                   self.field(body, "confirm_warnings", bool, False)))


class VersionsHandler(PipelineHandler):
    @endpoint
    async def get(self, task_id: str) -> None:
        self.reply(await self.call(self.pipeline.submit.versions, self.user, int(task_id)))


class VersionHandler(PipelineHandler):
    @endpoint
    async def get(self, task_id: str, version: str) -> None:
        self.reply(await self.call(self.pipeline.submit.version, self.user, int(task_id), int(version)))


class DiffHandler(PipelineHandler):
    @endpoint
    async def get(self, task_id: str) -> None:
        old, new = self.int_argument("from"), self.int_argument("to")
        if old is None or new is None:
            raise InvalidInput("from and to (version numbers) are required",
                               [Issue(n, "required") for n, v in (("from", old), ("to", new)) if v is None])
        self.reply({"diff": await self.call(self.pipeline.submit.diff, self.user, int(task_id), old, new)})


class ToPublishHandler(PipelineHandler):
    @endpoint
    async def get(self, project_id: str) -> None:
        self.reply(await self.call(self.pipeline.submit.to_publish, self.user, int(project_id)))


class PublishHandler(PipelineHandler):
    @endpoint
    async def post(self, project_id: str) -> None:
        task_ids = self.ids(self.body(), "task_ids")
        self.reply(await self.call(self.pipeline.submit.publish, self.user, int(project_id), task_ids))


# --- lineage ----------------------------------------------------------------------------------


class LineageHandler(PipelineHandler):
    """The graph around a table (``datasource`` + ``table``) or, on a task, around its tables."""

    @endpoint
    async def get(self, task_id: str | None = None) -> None:
        where: dict[str, Any] = {"direction": self.get_query_argument("direction", "both"),
                                 "depth": self.int_argument("depth")}
        if where["direction"] not in ("up", "down", "both"):
            raise InvalidInput("direction must be up, down or both", [Issue("direction", "up, down or both")])
        if task_id is not None:
            where["task_id"] = int(task_id)
            await self.call(self.pipeline.tasks.get, self.user, int(task_id))  # 404 for no such task
        else:
            names = [self.get_query_argument(n, "") for n in ("datasource", "table")]
            if not all(names):
                raise InvalidInput("datasource and table are required",
                                   [Issue(n, "required") for n, v in zip(("datasource", "table"), names) if not v])
            where["table"] = tuple(names)
        self.reply(await self.call(lineage_graph, self.pipeline.store, **where))


class OpenLineageHandler(PipelineHandler):
    """A task version's lineage as an OpenLineage RunEvent (the newest version by default)."""

    @endpoint
    async def get(self, task_id: str) -> None:
        self.reply(await self.call(openlineage_for, self.pipeline.store, int(task_id),
                                   self.int_argument("version")))


# --- the operation center -------------------------------------------------------------------


class ProductionTasksHandler(PipelineHandler):
    @endpoint
    async def get(self) -> None:
        self.reply(await self.call(self.pipeline.operations.production_tasks, self.user,
                                   project_id=self.int_argument("project_id"),
                                   search=self.get_query_argument("search", None)))


class InstancesHandler(PipelineHandler):
    """Filtered by task, states (comma-separated), kind, owner, business dates (from, to)
    and backfill; a page of limit from offset."""

    @endpoint
    async def get(self) -> None:
        argument, state = self.get_query_argument, self.get_query_argument("state", "")
        self.reply(await self.call(
            self.pipeline.operations.instances, self.user, task_id=self.int_argument("task_id"),
            states=state.split(",") if state else None, kind=argument("kind", None), owner=argument("owner", None),
            business_date_from=argument("from", None), business_date_to=argument("to", None),
            backfill_id=self.int_argument("backfill_id"), limit=self.int_argument("limit", 50),
            offset=self.int_argument("offset", 0)))


class InstanceHandler(PipelineHandler):
    @endpoint
    async def get(self, instance_id: str) -> None:
        self.reply(await self.call(self.pipeline.operations.instance, self.user, int(instance_id)))


class InstanceLogHandler(PipelineHandler):
    """JSON (the last ``tail`` lines, or from byte ``offset`` to follow it), or with
    ``download=1`` the whole file as text, read a chunk at a time off the event loop."""

    @endpoint
    async def get(self, instance_id: str) -> None:
        operations, instance = self.pipeline.operations, int(instance_id)
        if not self.flag_argument("download"):
            self.reply(await self.call(operations.log, self.user, instance, tail_lines=self.int_argument("tail"),
                                       offset=self.int_argument("offset", digits=18)))
            return
        text = "text/plain; charset=utf-8"
        with await self.call(operations.log_file, self.user, instance) as file:
            self.set_header("Content-Type", text)  # sent with the first chunk
            self.set_header("Content-Disposition", f'attachment; filename="instance-{instance}.log"')
            while chunk := await self.call(file.read, 1 << 20):
                self.write(chunk)
                await self.flush()
        self.finish(set_content_type=text)


class InstanceCodeHandler(PipelineHandler):
    @endpoint
    async def get(self, instance_id: str) -> None:
        self.reply(await self.call(self.pipeline.operations.code, self.user, int(instance_id)))


class RunNowHandler(PipelineHandler):
    @endpoint
    async def post(self, task_id: str) -> None:
        body = self.body()
        self.reply(await self.call(self.pipeline.operations.run_now, self.user, int(task_id),
                                   bizdate=self.field(body, "bizdate", str, None),
                                   params=self.field(body, "params", dict, {})), 201)


class RerunHandler(PipelineHandler):
    @endpoint
    async def post(self, instance_id: str) -> None:
        body = self.body()
        self.reply(await self.call(self.pipeline.operations.rerun, self.user, int(instance_id),
                                   force=self.field(body, "force", bool, False),
                                   downstream=self.field(body, "downstream", bool, False)))


class KillHandler(PipelineHandler):
    @endpoint
    async def post(self, instance_id: str) -> None:
        self.reply(await self.call(self.pipeline.operations.kill, self.user, int(instance_id)))


class BackfillsHandler(PipelineHandler):
    @endpoint
    async def get(self) -> None:
        self.reply(await self.call(self.pipeline.operations.backfills, self.user,
                                   task_id=self.int_argument("task_id")))

    @endpoint
    async def post(self) -> None:
        """``downstream``: true (every downstream task), false, or the ids of some of them."""
        body = self.body()
        downstream = self.field(body, "downstream", (bool, list), False)
        self.reply(await self.call(
            self.pipeline.operations.backfill, self.user, self.field(body, "task_id", int),
            date_from=self.field(body, "from", str), date_to=self.field(body, "to", str),
            downstream=downstream if isinstance(downstream, bool) else self.ids(body, "downstream"),
            parallelism=self.field(body, "parallelism", int, 1)), 201)


class BackfillHandler(PipelineHandler):
    @endpoint
    async def get(self, backfill_id: str) -> None:
        self.reply(await self.call(self.pipeline.operations.backfill_view, self.user, int(backfill_id)))


class CancelBackfillHandler(PipelineHandler):
    @endpoint
    async def post(self, backfill_id: str) -> None:
        self.reply(await self.call(self.pipeline.operations.cancel_backfill, self.user, int(backfill_id)))


class NotificationsHandler(PipelineHandler):
    """Failed and killed instances, for the frontend to poll: ``after`` = the last answer's ``last``."""

    @endpoint
    async def get(self) -> None:
        self.reply(await self.call(self.pipeline.operations.notifications, self.user,
                                   after=self.int_argument("after", digits=18), limit=self.int_argument("limit", 50)))


# --- routes -----------------------------------------------------------------------------

# an integer path parameter: digits, few enough to fit a BIGINT
_INTEGER = r"[0-9]{1,18}"


def is_integer(parameter: str) -> bool:
    """``{x_id}`` (a database id) and ``{version}`` (a version number) are integers."""
    return parameter.endswith("_id") or parameter == "version"


def _pattern(template: str) -> str:
    def group(match: re.Match) -> str:
        name = match.group(1)
        return f"(?P<{name}>{_INTEGER if is_integer(name) else '[^/]+'})"

    return API + re.sub(r"\{(\w+)\}", group, template)


ROUTES: list[tuple[str, type[PipelineHandler]]] = [
    ("/openapi.json", OpenAPIHandler),
    ("/schemas/script", ScriptSchemaHandler),
    ("/schemas/schedule", ScheduleSchemaHandler),
    ("/validate", ValidateHandler),
    ("/datasource-types", DataSourceTypesHandler),
    ("/datasource-directory", DataSourceDirectoryHandler),
    ("/datasources", DataSourcesHandler),
    ("/datasources/{name}", DataSourceHandler),
    ("/datasources/{name}/test", DataSourceTestHandler),
    ("/datasources/{name}/tables", TablesHandler),
    ("/datasources/{name}/tables/{table}/columns", ColumnsHandler),
    ("/datasources/{name}/grants", GrantsHandler),
    ("/datasources/{name}/grants/{user}/{permission}", GrantHandler),
    ("/datasources/{name}/permission-requests", DataSourceRequestsHandler),
    ("/permission-requests", PermissionRequestsHandler),
    ("/permission-requests/{request_id}", PermissionRequestHandler),
    ("/projects", ProjectsHandler),
    ("/projects/{project_id}", ProjectHandler),
    ("/projects/{project_id}/tree", TreeHandler),
    ("/projects/{project_id}/folders", FoldersHandler),
    ("/projects/{project_id}/tasks", TasksHandler),
    ("/folders/{folder_id}", FolderHandler),
    ("/tasks/{task_id}", TaskHandler),
    ("/tasks/{task_id}/script", TaskScriptHandler),
    ("/tasks/{task_id}/schedule", TaskScheduleHandler),
    ("/schedule/preview", SchedulePreviewHandler),
    ("/tasks/{task_id}/submit", SubmitHandler),
    ("/tasks/{task_id}/versions", VersionsHandler),
    ("/tasks/{task_id}/versions/{version}", VersionHandler),
    ("/tasks/{task_id}/diff", DiffHandler),
    ("/projects/{project_id}/to-publish", ToPublishHandler),
    ("/projects/{project_id}/publish", PublishHandler),
    ("/lineage", LineageHandler),
    ("/tasks/{task_id}/lineage", LineageHandler),
    ("/tasks/{task_id}/openlineage", OpenLineageHandler),
    ("/operations/tasks", ProductionTasksHandler),
    ("/instances", InstancesHandler),
    ("/instances/{instance_id}", InstanceHandler),
    ("/instances/{instance_id}/log", InstanceLogHandler),
    ("/instances/{instance_id}/code", InstanceCodeHandler),
    ("/tasks/{task_id}/run", RunNowHandler),
    ("/instances/{instance_id}/rerun", RerunHandler),
    ("/instances/{instance_id}/kill", KillHandler),
    ("/backfills", BackfillsHandler),
    ("/backfills/{backfill_id}", BackfillHandler),
    ("/backfills/{backfill_id}/cancel", CancelBackfillHandler),
    ("/notifications", NotificationsHandler),
]


def routes() -> list[tuple[str, type[PipelineHandler]]]:
    """The tornado rules: ``{name}`` in a template becomes a named group."""
    return [(_pattern(template), handler) for template, handler in ROUTES]
