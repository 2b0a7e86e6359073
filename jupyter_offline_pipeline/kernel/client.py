"""``PipelineClient``: the REST API of jupyter-offline-pipeline from Python, as the
notebook's user.

    from jupyter_offline_pipeline import PipelineClient

    client = PipelineClient()            # the server this kernel runs under (see discovery)
    task = client.create_task("sync_orders", source="shop", target="warehouse",
                              source_table="orders", target_table="ods_orders")
    client.save_script("sync_orders", script_text)
    result = client.submit("sync_orders", "first version")
    instance = client.wait(client.run("sync_orders", bizdate="20240101").id)

Tasks are given by id (``int``) or by name, in the client's ``project`` or as
``"project/name"``. Every method returns a view of ``display`` (a dataclass, or a list of
them, each shown as a table or chart in a notebook) or the server's own model
(``ScheduleConfig``); every error the server answers is one ``PipelineError`` with its
message and field issues.
"""

from __future__ import annotations

import difflib
import json
import time
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import requests

from ..service.schedule import ScheduleConfig
from .discovery import Server, auth_headers, discover
from .display import (Backfill, BackfillList, Code, ConnectionTest, DataSource, DataSourceDirectory,
                      DataSourceEntry, DataSourceList, Diagnostics, Folder, FolderNode, Grant, GrantList, Instance,
                      InstanceList, LineageGraph, LogChunk, Notification, NotificationList, Pending, PendingList,
                      PermissionRequest, ProductionTask, ProductionTaskList, Project, ProjectList, RunPreview,
                      ScheduledRun, SubmitResult, Task, TaskList, Version, VersionList, parse)
from .errors import PipelineError, diagnostic

TaskRef = int | str
DEFAULT_PROJECT = "default"


class PipelineClient:
    """A client of one server's ``/pipeline/api/``.

    ``url`` and ``token`` name the server; without them the server is discovered: under
    JupyterHub the user's own (``JUPYTERHUB_API_TOKEN``, ``JUPYTERHUB_SERVICE_PREFIX``...),
    else the running server listed in the Jupyter runtime directory that started this
    kernel. ``project`` is where task names are looked up.
    """

    def __init__(self, url: str | None = None, token: str | None = None, *, project: str = DEFAULT_PROJECT,
                 timeout: float = 120.0, verify: bool | str = True, runtime_dir: str | None = None):
        self.session = requests.Session()
        self.session.verify = verify
        self.server: Server = discover(url, token, session=self.session, runtime_dir=runtime_dir)
        self.session.headers.update(auth_headers(self.server.token))
        self.project = project
        self.timeout = timeout  # a submit's schema check introspects both databases
        self._project_ids: dict[str, int] = {}

    @property
    def url(self) -> str:
        return self.server.url

    def __repr__(self) -> str:
        return f"PipelineClient(url={self.url!r}, project={self.project!r})"

    # --- plumbing ---------------------------------------------------------------------------

    def request(self, method: str, path: str, *, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        """One call: ``path`` under ``/pipeline/api``, the JSON answer back (None for 204).
        The escape hatch for anything the methods below do not cover."""
        return _json(self._send(method, path, body=body, params=params))

    def _send(self, method: str, path: str, *, body: Any = None, params: dict[str, Any] | None = None):
        params = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = self.session.request(method, f"{self.url}pipeline/api{path}", params=params,
                                            json=body if method in ("POST", "PUT", "PATCH") else None,
                                            timeout=self.timeout)
        except requests.RequestException as error:
            raise PipelineError(None, f"cannot reach the Jupyter server at {self.url}: {error}") from None
        if response.status_code >= 400:
            raise PipelineError.from_reply(response.status_code, _json(response), response.reason or "")
        return response

    # --- documents and validation -----------------------------------------------------------

    def openapi(self) -> dict[str, Any]:
        return self.request("GET", "/openapi.json")

    def script_schema(self) -> dict[str, Any]:
        return self.request("GET", "/schemas/script")

    def schedule_schema(self) -> dict[str, Any]:
        return self.request("GET", "/schemas/schedule")

    def validate(self, script: str | dict, parameters: dict[str, str] | list[str] | None = None, *,
                 first_line: int = 1, where: str = "line") -> Diagnostics:
        """Every diagnostic of a script, the catalog's included (tables, columns, the
        caller's permissions). ``parameters``: the custom parameters it may use."""
        text = script if isinstance(script, str) else json.dumps(script, indent=2)
        found = self.request("POST", "/validate", body={"script": text, "parameters": parameters})
        return Diagnostics([diagnostic(d) for d in found["diagnostics"]], text, first_line, where)

    # --- data sources -----------------------------------------------------------------------

    def datasources(self) -> DataSourceList:
        """The data sources the caller may see, with the caller's permissions on each."""
        return DataSourceList(parse(list[DataSource], self.request("GET", "/datasources")))

    def datasource_directory(self) -> DataSourceDirectory:
        """Every data source's name, type and owner, with the caller's permissions on it."""
        return DataSourceDirectory(parse(list[DataSourceEntry], self.request("GET", "/datasource-directory")))

    def request_permission(self, name: str, permission: str, reason: str = "") -> PermissionRequest:
        """Ask the owner for ``read`` or ``write``; the owner's ``decide`` grants or refuses it."""
        body = {"permission": permission, "reason": reason}
        return parse(PermissionRequest, self.request("POST", f"/datasources/{_segment(name)}/permission-requests",
                                                     body=body))

    def decide(self, request_id: int, grant: bool) -> PermissionRequest:
        body = {"status": "granted" if grant else "refused"}
        return parse(PermissionRequest, self.request("PATCH", f"/permission-requests/{request_id}", body=body))

    def datasource(self, name: str) -> DataSource:
        return parse(DataSource, self.request("GET", f"/datasources/{_segment(name)}"))

    def create_datasource(self, name: str, type: str | None = None, params: dict[str, Any] | None = None, *,
                          url: str | None = None, description: str = "") -> DataSource:
        """From ``type`` and ``params``, or a SQLAlchemy ``url`` (``postgresql://u:pw@host/db``)."""
        body = {"name": name, "type": type, "params": params, "url": url, "description": description}
        body = {k: v for k, v in body.items() if v is not None}
        return parse(DataSource, self.request("POST", "/datasources", body=body))

    def test_datasource(self, name: str) -> ConnectionTest:
        """Whether the server can connect; a failure is an answer (``ok`` false), not an error."""
        answer = self.request("POST", f"/datasources/{_segment(name)}/test")
        return ConnectionTest(name, answer["ok"], answer["message"])

    def tables(self, name: str) -> list[str]:
        return self.request("GET", f"/datasources/{_segment(name)}/tables")["tables"]

    def grants(self, name: str) -> GrantList:
        return GrantList(parse(list[Grant], self.request("GET", f"/datasources/{_segment(name)}/grants")))

    def grant(self, name: str, user: str, permission: str) -> Grant:
        """Give ``user`` ``read`` or ``write`` on the caller's data source."""
        body = {"user": user, "permission": permission}
        return parse(Grant, self.request("POST", f"/datasources/{_segment(name)}/grants", body=body))

    def revoke(self, name: str, user: str, permission: str) -> None:
        self.request("DELETE", f"/datasources/{_segment(name)}/grants/{_segment(user)}/{permission}")

    # --- projects and folders ---------------------------------------------------------------

    def projects(self) -> ProjectList:
        return ProjectList(parse(list[Project], self.request("GET", "/projects")))

    def project_id(self, project: int | str | None = None) -> int:
        """The id of a project given by id or name (default: the client's)."""
        project = self.project if project is None else project
        if isinstance(project, int):
            return project
        if project not in self._project_ids:
            self._project_ids = {p.name: p.id for p in self.projects()}
        if project not in self._project_ids:
            raise PipelineError(404, f"project {project!r} does not exist" + _close(project, self._project_ids))
        return self._project_ids[project]

    def create_project(self, name: str, mode: str = "basic", description: str = "") -> Project:
        """``mode``: ``basic`` (a submit goes to production) or ``dev_prod`` (it waits to be published)."""
        body = {"name": name, "mode": mode, "description": description}
        return parse(Project, self.request("POST", "/projects", body=body))

    def tree(self, project: int | str | None = None) -> FolderNode:
        """The Batch Pipeline tree: folders and tasks from the project's root folder."""
        return parse(FolderNode, self.request("GET", f"/projects/{self.project_id(project)}/tree"))

    def folder_id(self, path: int | str, project: int | str | None = None) -> int:
        """A folder by id or by path below the root folder ("ods/daily")."""
        if isinstance(path, int):
            return path
        node = self.tree(project).find(path)
        if node is None:
            raise PipelineError(404, f"folder {path!r} does not exist in project {project or self.project!r}")
        return node.id

    def create_folder(self, name: str, parent: int | str | None = None, project: int | str | None = None) -> Folder:
        parent_id = self.folder_id(parent, project) if parent is not None else None
        body = {"name": name, "parent_id": parent_id}
        return parse(Folder, self.request("POST", f"/projects/{self.project_id(project)}/folders", body=body))

    # --- tasks ------------------------------------------------------------------------------

    def tasks(self, project: int | str | None = None, *, folder: int | str | None = None,
              search: str | None = None) -> TaskList:
        """The project's tasks, in one folder when given, matching ``search`` when given."""
        params = {"folder_id": self.folder_id(folder, project) if folder is not None else None, "search": search}
        return TaskList(parse(list[Task], self.request("GET", f"/projects/{self.project_id(project)}/tasks",
                                                       params=params)))

    def task_id(self, task: TaskRef) -> int:
        """The id of a task given by id, by name in the client's project, or as "project/name";
        an unknown name is a 404 that lists the closest names."""
        if isinstance(task, int):
            return task
        project, _, name = task.rpartition("/")
        found = self.tasks(project or None, search=name)
        exact = [t.id for t in found if t.name == name]
        if exact:
            return exact[0]
        names = [t.name for t in self.tasks(project or None)]
        raise PipelineError(404, f"no task named {name!r} in project {project or self.project!r}"
                                 + _close(name, names))

    def task(self, task: TaskRef) -> Task:
        """The task with its draft script and schedule configuration."""
        return parse(Task, self.request("GET", f"/tasks/{self.task_id(task)}"))

    def create_task(self, name: str, *, source: str, target: str, schedule_type: str = "recurring",
                    source_table: str = "", target_table: str = "", folder: int | str | None = None,
                    description: str = "", source_type: str | None = None, target_type: str | None = None,
                    project: int | str | None = None) -> Task:
        """The Create Offline Script dialog: a task reading data source ``source`` and writing
        ``target`` (their types by default), its script a template with the tables' columns."""
        if not (source_type and target_type):  # the directory: a type even without a permission
            types = {d.name: d.type for d in self.datasource_directory()}
            for datasource in (source, target):
                if datasource not in types:
                    raise PipelineError(404, f"data source {datasource!r} does not exist" + _close(datasource, types))
            source_type, target_type = source_type or types[source], target_type or types[target]
        body = {
            "name": name, "schedule_type": schedule_type, "description": description,
            "source_type": source_type, "source_datasource": source,
            "target_type": target_type, "target_datasource": target,
            "source_table": source_table, "target_table": target_table,
            "folder_id": self.folder_id(folder, project) if folder is not None else None,
        }
        return parse(Task, self.request("POST", f"/projects/{self.project_id(project)}/tasks", body=body))

    def save_script(self, task: TaskRef, script: str | dict) -> Task:
        """Store the draft script (checked at submit: a draft may be half written)."""
        text = script if isinstance(script, str) else json.dumps(script, indent=2)
        return parse(Task, self.request("PUT", f"/tasks/{self.task_id(task)}/script", body={"script": text}))

    def schedule(self, task: TaskRef) -> ScheduleConfig:
        """The draft schedule configuration."""
        return self.task(task).schedule or ScheduleConfig()

    def save_schedule(self, task: TaskRef, config: ScheduleConfig | dict) -> ScheduleConfig:
        """Store the draft schedule configuration; a 400 names each field at fault."""
        body = config.model_dump(mode="json") if isinstance(config, ScheduleConfig) else config
        saved = parse(Task, self.request("PUT", f"/tasks/{self.task_id(task)}/schedule", body=body))
        return saved.schedule or ScheduleConfig()

    def preview_schedule(self, config: ScheduleConfig | dict, count: int = 10) -> RunPreview:
        """The next ``count`` runs of a configuration, with their business dates."""
        body = config.model_dump(mode="json") if isinstance(config, ScheduleConfig) else dict(config)
        runs = self.request("POST", "/schedule/preview", body={**body, "count": count})["runs"]
        return RunPreview(parse(list[ScheduledRun], runs))

    # --- submit, versions, publish, lineage -------------------------------------------------

    def submit(self, task: TaskRef, remarks: str, *, confirm_warnings: bool = False) -> SubmitResult:
        """Run the five checks and, when none fails (and warnings are confirmed), freeze the
        draft as a new version. The result says how it went: it is not an error when a
        check fails (``result.ok``)."""
        task_id = self.task_id(task)
        body = {"remarks": remarks, "confirm_warnings": confirm_warnings}
        result = parse(SubmitResult, self.request("POST", f"/tasks/{task_id}/submit", body=body))
        result.task = task if isinstance(task, str) else f"task {task_id}"
        return result

    def versions(self, task: TaskRef) -> VersionList:
        return VersionList(parse(list[Version], self.request("GET", f"/tasks/{self.task_id(task)}/versions")))

    def version(self, task: TaskRef, number: int) -> Version:
        return parse(Version, self.request("GET", f"/tasks/{self.task_id(task)}/versions/{number}"))

    def diff(self, task: TaskRef, old: int, new: int) -> str:
        """A unified diff between two versions."""
        return self.request("GET", f"/tasks/{self.task_id(task)}/diff", params={"from": old, "to": new})["diff"]

    def to_publish(self, project: int | str | None = None) -> PendingList:
        pending = self.request("GET", f"/projects/{self.project_id(project)}/to-publish")
        return PendingList(parse(list[Pending], pending))

    def publish(self, *tasks: TaskRef, project: int | str | None = None) -> PendingList:
        """Publish the pending version of each task (all or none), into production."""
        ids = [self.task_id(t) for t in tasks]
        if project is None and ids:
            project = self.task(ids[0]).project_id
        published = self.request("POST", f"/projects/{self.project_id(project)}/publish", body={"task_ids": ids})
        return PendingList(parse(list[Pending], published))

    def delete_task(self, task: TaskRef, remarks: str) -> SubmitResult:
        """Delete through the submit path: at once in a basic project, else to publish."""
        task_id = self.task_id(task)
        return parse(SubmitResult, self.request("DELETE", f"/tasks/{task_id}", params={"remarks": remarks}))

    def lineage(self, task: TaskRef | None = None, *, datasource: str | None = None, table: str | None = None,
                direction: str = "both", depth: int | None = None) -> LineageGraph:
        """The lineage graph around a task's tables, or around ``datasource``'s ``table``."""
        params = {"direction": direction, "depth": depth}
        if task is not None:
            task_id = self.task_id(task)
            graph = parse(LineageGraph, self.request("GET", f"/tasks/{task_id}/lineage", params=params))
            graph.focus = sorted({e.source for e in graph.table_edges() if e.task_id == task_id}
                                 | {e.target for e in graph.table_edges() if e.task_id == task_id})
        else:
            params |= {"datasource": datasource, "table": table}
            graph = parse(LineageGraph, self.request("GET", "/lineage", params=params))
            graph.focus = [f"{datasource}:{table}"]
        graph.task_names = self._task_names({e.task_id for e in graph.edges})
        return graph

    def _task_names(self, ids: set[int], most: int = 20) -> dict[int, str]:
        names = {}
        for task_id in sorted(ids)[:most]:  # a few calls name the edges; a huge graph keeps ids
            try:
                names[task_id] = self.request("GET", f"/tasks/{task_id}")["name"]
            except PipelineError:  # deleted since, or not the caller's to see
                pass
        return names

    # --- the Operation Center ---------------------------------------------------------------

    def production_tasks(self, project: int | str | None = None, search: str | None = None) -> ProductionTaskList:
        """What production runs: each task's published version and schedule (all projects
        unless ``project`` is given)."""
        params = {"project_id": self.project_id(project) if project is not None else None, "search": search}
        return ProductionTaskList(parse(list[ProductionTask], self.request("GET", "/operations/tasks", params=params)))

    def instances(self, task: TaskRef | None = None, *, state: str | list[str] | None = None,
                  kind: str | None = None, owner: str | None = None, start: date | str | None = None,
                  end: date | str | None = None, backfill: int | None = None, limit: int = 50,
                  offset: int = 0) -> InstanceList:
        """Instances, newest scheduled first: of a task, in states, of a kind (recurring,
        manual, backfill), of an owner's tasks, with business dates ``start``..``end``."""
        params = {"task_id": self.task_id(task) if task is not None else None,
                  "state": ",".join(state) if isinstance(state, list) else state, "kind": kind, "owner": owner,
                  "from": _iso_date(start), "to": _iso_date(end), "backfill_id": backfill,
                  "limit": limit, "offset": offset}
        page = self.request("GET", "/instances", params=params)
        return InstanceList(parse(list[Instance], page["instances"]), page["total"])

    def instance(self, instance_id: int) -> Instance:
        """The instance with its state changes and the upstream instances it waits for."""
        return parse(Instance, self.request("GET", f"/instances/{instance_id}"))

    def log(self, instance_id: int, *, tail: int | None = None, offset: int | None = None) -> LogChunk:
        """The log's last ``tail`` lines, or its text from byte ``offset`` (ask again from
        the answer's ``offset`` to follow it)."""
        params = {"tail": tail, "offset": offset}
        return parse(LogChunk, self.request("GET", f"/instances/{instance_id}/log", params=params))

    def download_log(self, instance_id: int) -> str:
        """The whole log file."""
        response = self._send("GET", f"/instances/{instance_id}/log", params={"download": 1})
        return response.content.decode("utf-8", "replace")

    def follow_log(self, instance_id: int, *, offset: int = 0, poll: float = 1.0) -> Iterator[str]:
        """The log's text as it grows, until the instance has finished."""
        while True:
            chunk = self.log(instance_id, offset=offset)
            if chunk.text:
                yield chunk.text
            if chunk.finished and chunk.offset >= chunk.size:
                return
            if chunk.offset == offset:
                time.sleep(poll)
            offset = chunk.offset

    def code(self, instance_id: int) -> Code:
        """The script of the version the instance runs, and as it ran."""
        return parse(Code, self.request("GET", f"/instances/{instance_id}/code"))

    def run(self, task: TaskRef, *, bizdate: date | str | None = None,
            params: dict[str, str] | None = None) -> Instance:
        """Run the production version now, as a manual instance for ``bizdate`` (YYYYMMDD;
        default: yesterday), ``params`` overriding the task's custom parameters."""
        body = {"bizdate": bizdate.strftime("%Y%m%d") if isinstance(bizdate, date) else bizdate,
                "params": params or None}
        body = {k: v for k, v in body.items() if v is not None}
        return parse(Instance, self.request("POST", f"/tasks/{self.task_id(task)}/run", body=body))

    def rerun(self, instance_id: int, *, force: bool = False, downstream: bool = False) -> InstanceList:
        """Send a finished instance back to wait (``force``: past its upstream check), and
        with ``downstream`` the finished instances below it of the same date."""
        body = {"force": force, "downstream": downstream}
        return InstanceList(parse(list[Instance], self.request("POST", f"/instances/{instance_id}/rerun", body=body)))

    def kill(self, instance_id: int) -> Instance:
        return parse(Instance, self.request("POST", f"/instances/{instance_id}/kill"))

    def wait(self, instance_id: int, *, poll: float = 1.0, timeout: float | None = None,
             on_update: Callable[[Instance], None] | None = None) -> Instance:
        """Poll until the instance has finished (success, failed, killed, not_run, dry_run);
        ``on_update`` sees every state polled. A ``timeout`` stops waiting, not the run."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            instance = self.instance(instance_id)
            if on_update is not None:
                on_update(instance)
            if instance.finished:
                return instance
            if deadline is not None and time.monotonic() > deadline:
                raise PipelineError(200, f"instance {instance_id} is still {instance.state} after {timeout:g}s")
            time.sleep(poll)

    def backfill(self, task: TaskRef, start: date | str, end: date | str, *,
                 downstream: bool | list[TaskRef] = False, parallelism: int = 1) -> Backfill:
        """Instances of the task for every business date from ``start`` to ``end``, run in
        date order, ``parallelism`` dates at a time; ``downstream``: also every downstream
        task (True), or those listed, each after its upstream."""
        chosen = downstream if isinstance(downstream, bool) else [self.task_id(t) for t in downstream]
        body = {"task_id": self.task_id(task), "from": _iso_date(start), "to": _iso_date(end),
                "downstream": chosen, "parallelism": parallelism}
        return parse(Backfill, self.request("POST", "/backfills", body=body))

    def backfills(self, task: TaskRef | None = None) -> BackfillList:
        params = {"task_id": self.task_id(task) if task is not None else None}
        return BackfillList(parse(list[Backfill], self.request("GET", "/backfills", params=params)))

    def get_backfill(self, backfill_id: int) -> Backfill:
        return parse(Backfill, self.request("GET", f"/backfills/{backfill_id}"))

    def cancel_backfill(self, backfill_id: int) -> Backfill:
        """Stop a running backfill; its waiting and running instances are killed."""
        return parse(Backfill, self.request("POST", f"/backfills/{backfill_id}/cancel"))

    def notifications(self, after: int | None = None) -> NotificationList:
        """Instances that failed or were killed (after event ``after``; the list's ``last``
        is where to poll from next)."""
        answer = self.request("GET", "/notifications", params={"after": after})
        return NotificationList(parse(list[Notification], answer["events"]), answer["last"])


def _segment(value: str) -> str:
    """A name as one path segment (data source and user names may hold anything)."""
    return requests.utils.quote(value, safe="")


def _iso_date(value: date | str | None) -> str | None:
    """A business date as the server's filters take it: YYYY-MM-DD (from a date,
    YYYYMMDD or YYYY-MM-DD; anything else goes as given, for the server to refuse)."""
    if value is None or isinstance(value, date):
        return value and value.isoformat()
    if len(value) == 8 and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return value


def _close(name: str, known) -> str:
    matches = difflib.get_close_matches(name, list(known), n=3, cutoff=0.5)
    return f"; did you mean {', '.join(map(repr, matches))}?" if matches else ""


def _json(response: requests.Response) -> Any:
    """The answer's JSON; None for no body, or one that is not JSON (a proxy's error page)."""
    try:
        return response.json() if response.content else None
    except ValueError:
        return None
