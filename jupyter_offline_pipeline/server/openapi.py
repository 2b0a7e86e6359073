"""The OpenAPI 3.1 document of ``/pipeline/api/``, served at ``/pipeline/api/openapi.json``.

Written out here, beside the handlers, and kept true by a test that compares it with the
routes the server registers. The script's and the schedule's JSON Schemas are the ones
their pydantic models export, their ``$defs`` hoisted into ``components/schemas``.
"""

from __future__ import annotations

import copy
import re
from functools import cache
from typing import Any

from .. import __version__
from ..script import script_json_schema
from ..service.schedule import schedule_json_schema
from .handlers import API, is_integer

# --- building blocks ------------------------------------------------------------------------


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def obj(required: list[str] | None = None, **properties: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


STRING = {"type": "string"}
TEXT = {"type": "string", "maxLength": 1000}
INTEGER = {"type": "integer"}
ID = {"type": "integer", "minimum": 0}
BOOLEAN = {"type": "boolean"}
TIME = {"type": "string", "format": "date-time"}
PERMISSION = {"type": "string", "enum": ["read", "write"]}

_REASONS = {200: "OK", 201: "Created", 204: "No Content", 400: "Invalid request",
            403: "Not authenticated, or not allowed", 404: "Not found", 409: "Conflict"}


def op(summary: str, *, returns: dict | None = None, status: int = 200, body: dict | None = None,
       errors: tuple[int, ...] = (), query: dict[str, dict] | None = None, tag: str = "") -> dict:
    """One operation. Every one may answer 403 (no user, or the authorizer says no), one
    with a body 400; ``errors`` adds the others it can give."""
    operation: dict[str, Any] = {"summary": summary, "tags": [tag] if tag else []}
    if query:
        operation["parameters"] = [{"name": name, "in": "query", "required": False, "schema": schema}
                                   for name, schema in query.items()]
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
        errors = (400, *errors)
    responses: dict[str, Any] = {str(status): {"description": _REASONS[status]}}
    if returns is not None:
        responses[str(status)]["content"] = {"application/json": {"schema": returns}}
    for code in sorted({403, *errors}):
        responses[str(code)] = {"description": _REASONS[code],
                                "content": {"application/json": {"schema": ref("Error")}}}
    operation["responses"] = responses
    return operation


def path_parameters(template: str) -> list[dict[str, Any]]:
    """``{x_id}`` and ``{version}`` are integers, any other ``{x}`` a string of one path segment."""
    return [{"name": name, "in": "path", "required": True,
             "schema": {**ID, "maximum": 10**18 - 1} if is_integer(name) else {**STRING, "minLength": 1}}
            for name in re.findall(r"\{(\w+)\}", template)]


# --- the resources --------------------------------------------------------------------------

DS, PRJ, TASK, VER, LIN, DOC = "data sources", "projects", "tasks", "versions", "lineage", "documents"
OPS = "operation center"
DATE = {"type": "string", "format": "date"}
BIZDATE = {"type": "string", "pattern": "^([0-9]{8}|[0-9]{4}-[0-9]{2}-[0-9]{2})$",
           "description": "A business date: YYYYMMDD or YYYY-MM-DD."}
PAGE = {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}
LINEAGE_QUERY = {"direction": {"type": "string", "enum": ["up", "down", "both"], "default": "both"},
                 "depth": {**ID, "maximum": 10**9 - 1, "description": "Table hops; none: as far as it goes."}}


def paths() -> dict[str, dict[str, Any]]:
    datasource_patch = obj(params={"type": "object", "description": "Merged into the stored ones; "
                                   "a password omitted, null or masked keeps the stored one."},
                           description=TEXT)
    return {
        "/openapi.json": {"get": op("This document", returns={"type": "object"}, tag=DOC)},
        "/schemas/script": {"get": op("The script's JSON Schema", returns={"type": "object"}, tag=DOC)},
        "/schemas/schedule": {"get": op("The schedule configuration's JSON Schema",
                                        returns={"type": "object"}, tag=DOC)},
        "/validate": {"post": op(
            "Every diagnostic of a script, checked against the catalog: data sources the user "
            "may not read or write, tables and columns that do not exist, reader and writer column "
            "counts that differ (errors, source catalog); a data source that cannot be inspected "
            "is a warning",
            body=obj(["script"], script={"type": "string", "description": "The script's text."},
                     parameters={"description": "Custom parameter names (or name: value); "
                                 "when given, undefined ${...} references are errors. Values resolve "
                                 "table names for a sample business date; a table name that does not "
                                 "resolve is not looked up.",
                                 "oneOf": [array(STRING), {"type": "object"}]}),
            returns=obj(["diagnostics"], diagnostics=array(ref("Diagnostic"))), tag=DOC)},
        "/datasource-types": {"get": op(
            "Each data source type's connection fields, as JSON Schema",
            returns={"type": "object", "additionalProperties": {"type": "object"}}, tag=DS)},
        "/datasource-directory": {"get": op(
            "Every data source's name, type and owner, to request a permission on",
            returns=array(ref("DataSourceEntry")), tag=DS)},
        "/datasources": {
            "get": op("The data sources the user may see", returns=array(ref("DataSource")), tag=DS),
            "post": op("Add a data source, from params or a SQLAlchemy URL", body=ref("NewDataSource"),
                       returns=ref("DataSource"), status=201, errors=(409,), tag=DS),
        },
        "/datasources/{name}": {
            "get": op("One data source, secrets masked", returns=ref("DataSource"), errors=(404,), tag=DS),
            "patch": op("Change its connection or description (owner)", body=datasource_patch,
                        returns=ref("DataSource"), errors=(404, 409), tag=DS),
            "delete": op("Remove it (owner)", status=204, errors=(404,), tag=DS),
        },
        "/datasources/{name}/test": {"post": op(
            "Test the connection; a failure is ok: false with the reason",
            returns=obj(["ok", "message"], ok=BOOLEAN, message=STRING), errors=(404, 409), tag=DS)},
        "/datasources/{name}/tables": {"get": op(
            "The tables (or files) of the data source", returns=obj(["tables"], tables=array(STRING)),
            errors=(400, 404, 409), tag=DS)},
        "/datasources/{name}/tables/{table}/columns": {"get": op(
            "The columns of one table, with their declared types",
            returns=obj(["columns"], columns=array(obj(["name", "type"], name=STRING, type=STRING))),
            errors=(400, 404, 409), tag=DS)},
        "/datasources/{name}/grants": {
            "get": op("Who holds which permission (owner)", returns=array(ref("Grant")), errors=(404,), tag=DS),
            "post": op("Grant a user read or write (owner)", body=obj(["user", "permission"], user=STRING,
                                                                      permission=PERMISSION),
                       returns=ref("Grant"), status=201, errors=(404,), tag=DS),
        },
        "/datasources/{name}/grants/{user}/{permission}": {"delete": op(
            "Revoke a permission (owner)", status=204, errors=(400, 404), tag=DS)},
        "/datasources/{name}/permission-requests": {"post": op(
            "Ask the owner for a permission", body=obj(["permission"], permission=PERMISSION, reason=TEXT),
            returns=ref("PermissionRequest"), status=201, errors=(404, 409), tag=DS)},
        "/permission-requests": {"get": op(
            "Requests the user made (mine), waiting on the user's decision (owned), or both (all)",
            query={"scope": {"type": "string", "enum": ["all", "mine", "owned"], "default": "all"},
                   "status": {"type": "string", "enum": ["pending", "granted", "refused"]}},
            returns=array(ref("PermissionRequest")), errors=(400,), tag=DS)},
        "/permission-requests/{request_id}": {"patch": op(
            "Grant or refuse a pending request (owner)",
            body=obj(["status"], status={"type": "string", "enum": ["granted", "refused"]}),
            returns=ref("PermissionRequest"), errors=(404, 409), tag=DS)},
        "/projects": {
            "get": op("Every project", returns=array(ref("Project")), tag=PRJ),
            "post": op("Create a project with its root folder",
                       body=obj(["name"], name={**STRING, "pattern": "^[A-Za-z0-9_-]{1,64}$"},
                                mode={"type": "string", "enum": ["basic", "dev_prod"]}, description=TEXT),
                       returns=ref("Project"), status=201, errors=(409,), tag=PRJ),
        },
        "/projects/{project_id}": {
            "get": op("One project", returns=ref("Project"), errors=(404,), tag=PRJ),
            "patch": op("Change its mode (owner)", body=obj(["mode"], mode={"type": "string",
                                                                            "enum": ["basic", "dev_prod"]}),
                        returns=ref("Project"), errors=(404,), tag=PRJ),
        },
        "/projects/{project_id}/tree": {"get": op(
            "The Batch Pipeline tree: folders and tasks from the root folder",
            returns=ref("FolderNode"), errors=(404,), tag=PRJ)},
        "/projects/{project_id}/folders": {"post": op(
            "Create a folder (under the root folder by default)",
            body=obj(["name"], name={**STRING, "maxLength": 128}, parent_id=ID),
            returns=ref("Folder"), status=201, errors=(404, 409), tag=PRJ)},
        "/folders/{folder_id}": {
            "patch": op("Rename and/or move a folder", body=obj(name={**STRING, "maxLength": 128}, parent_id=ID),
                        returns=ref("Folder"), errors=(404, 409), tag=PRJ),
            "delete": op("Delete an empty folder", status=204, errors=(400, 404, 409), tag=PRJ),
        },
        "/projects/{project_id}/tasks": {
            "get": op("The project's tasks", query={"folder_id": ID, "search": STRING},
                      returns=array(ref("Task")), errors=(400, 404), tag=TASK),
            "post": op("Create a task with a script template (the Create Offline Script dialog)",
                       body=ref("NewTask"), returns=ref("Task"), status=201, errors=(404,), tag=TASK),
        },
        "/tasks/{task_id}": {
            "get": op("A task with its draft script and schedule configuration",
                      returns=ref("TaskDetail"), errors=(404,), tag=TASK),
            "patch": op("Rename and/or move a task", body=obj(name={**STRING, "maxLength": 64}, folder_id=ID),
                        returns=ref("Task"), errors=(403, 404), tag=TASK),
            "delete": op("Delete a task through the submit path: at once in a basic project, "
                         "else a deletion version waiting to be published",
                         query={"remarks": {**STRING, "description": "Required: why."}},
                         returns=ref("SubmitResult"), errors=(400, 404), tag=TASK),
        },
        "/tasks/{task_id}/script": {"put": op(
            "Save the draft script (checked at submit, not here)",
            body=obj(["script"], script={"type": "string", "maxLength": 500_000}),
            returns=ref("TaskDetail"), errors=(404,), tag=TASK)},
        "/tasks/{task_id}/schedule": {"put": op(
            "Save the draft schedule configuration", body=ref("ScheduleConfig"),
            returns=ref("TaskDetail"), errors=(404,), tag=TASK)},
        "/schedule/preview": {"post": op(
            "The next runs of a schedule configuration, with their business dates (the day "
            "before the scheduled day): the schedule PUT's body, plus count",
            body=_preview_body(), returns=obj(["runs"], runs=array(ref("ScheduledRun"))), tag=TASK)},
        "/tasks/{task_id}/submit": {"post": op(
            "Submit: run the checks, then freeze the draft as a new version with its lineage",
            body=obj(["remarks"], remarks={**STRING, "maxLength": 128}, confirm_warnings=BOOLEAN),
            returns=ref("SubmitResult"), errors=(404, 409), tag=VER)},
        "/tasks/{task_id}/versions": {"get": op(
            "The task's versions, newest first", returns=array(ref("Version")), errors=(404,), tag=VER)},
        "/tasks/{task_id}/versions/{version}": {"get": op(
            "One version with its script, schedule and check results", returns=ref("Version"),
            errors=(404,), tag=VER)},
        "/tasks/{task_id}/diff": {"get": op(
            "A unified diff between two versions: the script, then the schedule",
            query={"from": {**ID, "maximum": 10**9 - 1}, "to": {**ID, "maximum": 10**9 - 1}},
            returns=obj(["diff"], diff=STRING), errors=(400, 404), tag=VER)},
        "/projects/{project_id}/to-publish": {"get": op(
            "Per task, its newest version when not yet published", returns=array(ref("Pending")),
            errors=(404,), tag=VER)},
        "/projects/{project_id}/publish": {"post": op(
            "Publish the pending version of each task (all or none)",
            body=obj(["task_ids"], task_ids=array(ID)), returns=array(ref("Pending")),
            errors=(404, 409), tag=VER)},
        "/lineage": {"get": op(
            "The lineage graph around a table",
            query={"datasource": STRING, "table": STRING, **LINEAGE_QUERY},
            returns=ref("LineageGraph"), errors=(400,), tag=LIN)},
        "/tasks/{task_id}/lineage": {"get": op(
            "The lineage graph around a task's tables", query=LINEAGE_QUERY,
            returns=ref("LineageGraph"), errors=(400, 404), tag=LIN)},
        "/tasks/{task_id}/openlineage": {"get": op(
            "A version's lineage as an OpenLineage RunEvent (the newest version by default)",
            query={"version": {**ID, "maximum": 10**9 - 1}}, returns={"type": "object"}, errors=(400, 404), tag=LIN)},
        **_operation_paths(),
    }


def _operation_paths() -> dict[str, dict[str, Any]]:
    small_id = {**ID, "maximum": 10**9 - 1}
    return {
        "/operations/tasks": {"get": op(
            "What production runs: each task's published version, state, cycle, next run, and its "
            "direct upstream and downstream tasks", query={"project_id": small_id, "search": STRING},
            returns=array(ref("ProductionTask")), errors=(400, 404), tag=OPS)},
        "/instances": {"get": op(
            "Instances, newest scheduled first, filtered", query={
                "task_id": small_id, "kind": {"type": "string", "enum": ["recurring", "manual", "backfill"]},
                "state": {**STRING, "description": "States, comma-separated."}, "owner": STRING,
                "from": {**DATE, "description": "The first business date."},
                "to": {**DATE, "description": "The last business date."},
                "backfill_id": small_id, "limit": PAGE, "offset": {**ID, "maximum": 10**9 - 1}},
            returns=obj(["instances", "total"], instances=array(ref("Instance")), total=INTEGER),
            errors=(400,), tag=OPS)},
        "/instances/{instance_id}": {"get": op(
            "An instance with its state changes and, per upstream task, the instances it waits for",
            returns=ref("InstanceDetail"), errors=(404,), tag=OPS)},
        "/instances/{instance_id}/log": {"get": _log_operation()},
        "/instances/{instance_id}/code": {"get": op(
            "The script of the version the instance runs, and as it ran (parameters resolved)",
            returns=obj(["task_id", "version", "script", "resolved_script"], task_id=ID, version=INTEGER,
                        script=STRING, resolved_script={"type": ["string", "null"]}),
            errors=(404,), tag=OPS)},
        "/tasks/{task_id}/run": {"post": op(
            "Run now: a manual instance of the production version (owner, operation owner, admin)",
            body=obj(bizdate={**BIZDATE, "description": "Default: yesterday in the schedule's time zone."},
                     params={"type": "object", "additionalProperties": {"type": "string", "maxLength": 1000},
                             "description": "Values overriding the task's custom parameters."}),
            returns=ref("Instance"), status=201, errors=(404, 409), tag=OPS)},
        "/instances/{instance_id}/rerun": {"post": op(
            "Rerun a finished instance: it waits for its upstream again (force: only for resources); "
            "downstream: the downstream tasks' finished instances of the date go back too",
            body=obj(force=BOOLEAN, downstream=BOOLEAN), returns=array(ref("Instance")),
            errors=(404, 409), tag=OPS)},
        "/instances/{instance_id}/kill": {"post": op(
            "Kill a waiting or running instance", returns=ref("Instance"), errors=(404, 409), tag=OPS)},
        "/backfills": {
            "get": op("The newest backfills, of one task when given", query={"task_id": small_id},
                      returns=array(ref("Backfill")), errors=(400, 404), tag=OPS),
            "post": op("Backfill a task (and downstream tasks) over business dates, in date order",
                       body=obj(["task_id", "from", "to"], task_id=ID, **{"from": BIZDATE, "to": BIZDATE},
                                downstream={"description": "true: every downstream task; or some of their ids.",
                                            "oneOf": [BOOLEAN, array(ID)]},
                                parallelism={"type": "integer", "minimum": 1, "maximum": 32, "default": 1}),
                       returns=ref("Backfill"), status=201, errors=(404, 409), tag=OPS),
        },
        "/backfills/{backfill_id}": {"get": op(
            "A backfill with its instances counted by state", returns=ref("Backfill"), errors=(404,), tag=OPS)},
        "/backfills/{backfill_id}/cancel": {"post": op(
            "Cancel a running backfill: its waiting and running instances are killed",
            returns=ref("Backfill"), errors=(404, 409), tag=OPS)},
        "/notifications": {"get": op(
            "Instances that failed or were killed: after event `after`, or the latest; poll again "
            "with after = last", query={"after": {**ID, "maximum": 10**18 - 1}, "limit": PAGE},
            returns=obj(["events", "last"], events=array(ref("Notification")), last=INTEGER),
            errors=(400,), tag=OPS)},
    }


def _log_operation() -> dict[str, Any]:
    operation = op(
        "An instance's log: the last `tail` lines, or from byte `offset` (follow it with the answer's "
        "offset), at most 1 MiB; with download=1 the whole file as an attachment",
        query={"tail": {"type": "integer", "minimum": 0, "maximum": 10_000},
               "offset": {**ID, "maximum": 10**18 - 1},
               "download": {"type": "string", "enum": ["0", "1", "false", "true"]}},
        returns=obj(["text", "offset", "size", "finished"], text=STRING, offset=INTEGER, size=INTEGER,
                    finished=BOOLEAN),
        errors=(400, 404), tag=OPS)
    operation["responses"]["200"]["content"]["text/plain"] = {"schema": STRING}
    return operation


def _preview_body() -> dict[str, Any]:
    schema = _rewritten({k: v for k, v in schedule_json_schema().items() if k not in ("$schema", "$defs")})
    schema["properties"]["count"] = {"type": "integer", "minimum": 1, "maximum": 50, "default": 10,
                                     "description": "How many runs, from now."}
    return schema


def components() -> dict[str, Any]:
    task_fields = dict(
        id=ID, project_id=ID, folder_id=ID, name=STRING, description=STRING,
        schedule_type={"type": "string", "enum": ["recurring", "manual"]},
        source_type=STRING, source_datasource=STRING, target_type=STRING, target_datasource=STRING,
        status={"type": "string", "enum": ["draft", "submitted", "to_publish", "published"]},
        owner=STRING, deleted=BOOLEAN, created_at=TIME, updated_at=TIME)
    schemas: dict[str, Any] = {
        "Error": obj(["message"], message=STRING,
                     issues=array(obj(["field", "message"], field=STRING, message=STRING)),
                     diagnostics=array(ref("Diagnostic"))),
        "Diagnostic": obj(["severity", "message", "pointer", "line", "column", "source"],
                          severity={"type": "string", "enum": ["error", "warning", "info"]},
                          message=STRING, pointer=STRING, line={"type": "integer", "minimum": 1},
                          column={"type": "integer", "minimum": 1}, source=STRING),
        "DataSource": obj(["name", "type", "params", "owner", "description", "permissions"],
                          name=STRING, type=STRING, owner=STRING, description=STRING,
                          params={"type": "object", "description": "Secrets masked as ******."},
                          permissions=array({"type": "string", "enum": ["owner", "read", "write"]})),
        "NewDataSource": obj(
            ["name"], name={**STRING, "pattern": "^[A-Za-z_][A-Za-z0-9_\\-]{0,127}$"},
            type={**STRING, "description": "One of /datasource-types; implied by url."},
            params={"type": "object", "description": "The type's connection fields."},
            url={**STRING, "description": "Instead of type and params: postgresql://user:pw@host:port/db, "
                 "mysql://..., sqlite:///file.db, duckdb:///file.duckdb."},
            description=TEXT),
        "DataSourceEntry": obj(["name", "type", "owner", "permissions", "pending"], name=STRING,
                               type=STRING, owner=STRING, permissions=array(STRING), pending=array(STRING)),
        "Grant": obj(["datasource", "user", "permission", "granted_by", "granted_at"], datasource=STRING,
                     user=STRING, permission=PERMISSION, granted_by=STRING, granted_at=TIME),
        "PermissionRequest": obj(
            ["id", "datasource", "user", "permission", "reason", "status", "created_at"],
            id=ID, datasource=STRING, user=STRING, permission=PERMISSION, reason=STRING,
            status={"type": "string", "enum": ["pending", "granted", "refused"]}, created_at=TIME,
            decided_by={"type": ["string", "null"]}, decided_at={"type": ["string", "null"], "format": "date-time"}),
        "Project": obj(["id", "name", "mode", "description", "owner", "root_folder_id", "created_at"],
                       id=ID, name=STRING, mode={"type": "string", "enum": ["basic", "dev_prod"]},
                       description=STRING, owner=STRING, root_folder_id=ID, created_at=TIME),
        "Folder": obj(["id", "project_id", "parent_id", "name", "created_at"], id=ID, project_id=ID,
                      parent_id={"type": ["integer", "null"]}, name=STRING, created_at=TIME),
        "FolderNode": obj(["id", "name", "folders", "tasks"], id=ID, name=STRING,
                          folders=array(ref("FolderNode")),
                          tasks=array(obj(["id", "name", "schedule_type", "status"], id=ID, name=STRING,
                                          schedule_type=STRING, status=STRING))),
        "Task": obj(list(task_fields), **task_fields),
        "TaskDetail": obj([*task_fields, "script", "schedule"], **task_fields,
                          script={"type": "string", "description": "The draft script's text (see Script)."},
                          schedule=ref("ScheduleConfig")),
        "NewTask": obj(["name", "schedule_type", "source_type", "source_datasource", "target_type",
                        "target_datasource"],
                       name={**STRING, "maxLength": 64}, description=TEXT, folder_id=ID,
                       schedule_type={"type": "string", "enum": ["recurring", "manual"]},
                       source_type=STRING, source_datasource=STRING, source_table=STRING,
                       target_type=STRING, target_datasource=STRING, target_table=STRING),
    }
    check = obj(["name", "status", "messages", "diagnostics"], name=STRING,
                status={"type": "string", "enum": ["pass", "warning", "fail", "skipped"]},
                messages=array(STRING), diagnostics=array(ref("Diagnostic")))
    brief_version = dict(number=INTEGER, change={"type": "string", "enum": ["create", "update", "delete"]},
                         remarks=STRING, author=STRING, created_at=TIME, published_by={"type": ["string", "null"]},
                         published_at={"type": ["string", "null"], "format": "date-time"})
    node = obj(["id", "kind"], id=STRING, kind={"type": "string", "enum": ["table", "column"]},
               datasource=STRING, table=STRING, column=STRING, parent=STRING)
    edge = obj(["source", "target", "kind", "task_id"], source=STRING, target=STRING,
               kind={"type": "string", "enum": ["table", "column"]}, task_id=ID)
    schemas |= {
        "SubmitResult": obj(["status", "version", "checks"], version={"type": ["integer", "null"]},
                            status={"type": "string", "enum": ["submitted", "published", "failed",
                                                               "needs_confirmation", "deleted"]},
                            checks=array(check)),
        "Version": obj([*brief_version, "task_id", "script", "schedule", "checks"], **brief_version,
                       task_id=ID, script=STRING, schedule={"type": "object"}, checks=array(check)),
        "Pending": obj(["task_id", "task_name", *brief_version], task_id=ID, task_name=STRING, **brief_version),
        "LineageGraph": obj(["nodes", "edges"], nodes=array(node), edges=array(edge)),
        "ScheduledRun": obj(["scheduled_time", "business_date"], scheduled_time=TIME,
                            business_date={"type": "string", "format": "date"}),
        **_operation_schemas(),
    }
    hoist(schemas, "Script", script_json_schema())
    hoist(schemas, "ScheduleConfig", schedule_json_schema())
    return {"schemas": schemas}


def _operation_schemas() -> dict[str, Any]:
    nullable_time = {"type": ["string", "null"], "format": "date-time"}
    state = {"type": "string", "enum": ["waiting_time", "waiting_upstream", "waiting_resources", "running",
                                        "success", "failed", "not_run", "dry_run", "killed"]}
    kind = {"type": "string", "enum": ["recurring", "manual", "backfill"]}
    named = array(obj(["id", "name"], id=ID, name={"type": ["string", "null"]}))
    instance = dict(
        id=ID, task_id=ID, task_name=STRING, project=STRING, owner=STRING, version=INTEGER, kind=kind,
        business_date=DATE, scheduled_time=TIME, state=state,
        priority={"type": "string", "enum": ["lowest", "low", "medium", "high", "highest"]},
        attempt=INTEGER, max_attempts=INTEGER, params={"type": "object"}, backfill_id={"type": ["integer", "null"]},
        triggered_by=STRING, started_at=nullable_time, finished_at=nullable_time,
        duration_seconds={"type": ["number", "null"]},
        stats={"type": ["object", "null"], "description": "The run's summary: records, bytes, speeds."},
        error={"type": ["string", "null"]}, log_available=BOOLEAN)
    event = obj(["at", "from", "to", "reason"], at=TIME, **{"from": {"type": ["string", "null"]}}, to=STRING,
                reason=STRING)
    waits_for = obj(["task_id", "task_name", "ok", "instances"], task_id=ID, task_name=STRING, ok=BOOLEAN,
                    instances=array(obj(["id", "state", "scheduled_time"], id=ID, state=state, scheduled_time=TIME)))
    return {
        "Instance": obj(list(instance), **instance),
        "InstanceDetail": obj([*instance, "events", "upstream"], **instance, events=array(event),
                              upstream=array(waits_for)),
        "ProductionTask": obj(
            ["id", "name", "project", "owner", "operation_owner", "schedule_type", "version", "state", "cycle",
             "timezone", "priority", "next_run_time", "next_business_date", "upstream", "downstream"],
            id=ID, name=STRING, project=STRING, owner=STRING, operation_owner=STRING,
            schedule_type={"type": "string", "enum": ["recurring", "manual"]}, version=INTEGER,
            state={"type": "string", "enum": ["normal", "dry_run", "paused"]}, cycle={"type": ["string", "null"]},
            timezone=STRING, priority=STRING, next_run_time=nullable_time,
            next_business_date={"type": ["string", "null"], "format": "date"}, upstream=named, downstream=named),
        "Backfill": obj(
            ["id", "task_id", "task_name", "tasks", "from", "to", "parallelism", "state", "created_by",
             "created_at", "total", "counts", "dates_total", "dates_done"],
            id=ID, task_id=ID, task_name={"type": ["string", "null"]}, tasks=named,
            **{"from": DATE, "to": DATE}, parallelism=INTEGER,
            state={"type": "string", "enum": ["running", "cancelled", "finished"]}, created_by=STRING,
            created_at=TIME, total=INTEGER, counts={"type": "object", "additionalProperties": INTEGER},
            dates_total=INTEGER, dates_done=INTEGER),
        "Notification": obj(
            ["id", "instance_id", "task_id", "task_name", "business_date", "kind", "state", "reason", "at",
             "timed_out"], id=ID, instance_id=ID, task_id=ID, task_name=STRING, business_date=DATE, kind=kind,
            state={"type": "string", "enum": ["failed", "killed"]}, reason=STRING, at=TIME, timed_out=BOOLEAN),
    }


def hoist(schemas: dict[str, Any], name: str, schema: dict[str, Any]) -> None:
    """Add a JSON Schema as ``name``, its ``$defs`` beside it, references rewritten."""
    schema = copy.deepcopy(schema)
    schema.pop("$schema", None)
    for key, definition in {name: schema, **schema.pop("$defs", {})}.items():
        if key in schemas:
            raise ValueError(f"two schemas named {key!r} in the OpenAPI document")
        schemas[key] = _rewritten(definition)


def _rewritten(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (v.replace("#/$defs/", "#/components/schemas/") if k == "$ref" else _rewritten(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_rewritten(v) for v in value]
    return value


@cache
def _document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Offline pipeline scripts", "version": __version__,
                 "description": "Data sources, projects, tasks, versions, lineage and the operation center of "
                                "jupyter-offline-pipeline. Errors are {message, issues?}; "
                                "authenticate with the Jupyter server's token."},
        "servers": [{"url": API}],
        "security": [{"token": []}],
        "paths": {path: {**ops, "parameters": path_parameters(path)} if "{" in path else ops
                  for path, ops in paths().items()},
        "components": {**components(), "securitySchemes": {
            "token": {"type": "apiKey", "in": "header", "name": "Authorization",
                      "description": "token <the server's token>"}}},
    }


def openapi_document() -> dict[str, Any]:
    """The document (a copy: callers may change theirs)."""
    return copy.deepcopy(_document())
