"""The server extension over HTTP: every route, its errors, users and grants, the OpenAPI
document kept true, and generated requests that never make the server answer 500."""

import asyncio
import json
import re
import sqlite3
from pathlib import Path

import pytest
from tornado.web import RequestHandler

from conftest import Api
from jupyter_offline_pipeline import _jupyter_server_extension_points
from jupyter_offline_pipeline.script import script_json_schema
from jupyter_offline_pipeline.server.handlers import API, ROUTES
from jupyter_offline_pipeline.server.openapi import openapi_document
from jupyter_offline_pipeline.service.schedule import schedule_json_schema

PASSWORD = "Pa55-w0rd-never-shown"
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
def api(jp_fetch):
    client = Api(jp_fetch)
    yield client
    assert not [b for b in client.bodies if PASSWORD.encode() in b], "a response carried the password"


@pytest.fixture
def orders_db(tmp_path) -> Path:
    path = tmp_path / "orders.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, amount REAL, note TEXT)")
        conn.execute("CREATE TABLE ods_orders (id INTEGER PRIMARY KEY, amount REAL, note TEXT)")
    return path


async def add_sources(api, orders_db, user="alice"):
    """A SQLite data source ``lite`` and a PostgreSQL one, ``pg``, on a closed port."""
    code, lite = await api("POST", "/datasources", {"name": "lite", "url": f"sqlite:///{orders_db}"}, user)
    assert code == 201, lite
    code, pg = await api("POST", "/datasources", {"name": "pg", "type": "postgresql", "params": {
        "host": "127.0.0.1", "port": 9, "database": "d", "user": "u", "password": PASSWORD}}, user)
    assert code == 201, pg
    return lite, pg


def sample_path(template: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: "1" if m.group(1).endswith("_id") or m.group(1) == "version" else "x",
                  template)


def handler_methods(handler) -> set[str]:
    return {m for m in METHODS if getattr(handler, m) is not getattr(RequestHandler, m)}


# --- the extension and its documents ----------------------------------------------------------


def test_enabled_on_install():
    points = _jupyter_server_extension_points()
    assert points[0]["app"].name == "jupyter_offline_pipeline"
    config = Path(__file__).parents[1] / "jupyter-config/jupyter_server_config.d/jupyter_offline_pipeline.json"
    assert json.loads(config.read_text())["ServerApp"]["jpserver_extensions"] == {"jupyter_offline_pipeline": True}


async def test_every_route_needs_a_user(jp_serverapp, http_server_client, jp_base_url):
    for template, handler in ROUTES:
        for method in handler_methods(handler):
            url = f"{jp_base_url.rstrip('/')}{API}{sample_path(template)}"
            body = "{}" if method in ("post", "put", "patch") else None
            response = await http_server_client.fetch(url, method=method.upper(), body=body, raise_error=False)
            assert response.code in (401, 403), (method, template, response.code)
            assert "message" in json.loads(response.body)


async def test_openapi_matches_the_registered_routes(jp_serverapp, api, jp_base_url):
    registered = set()
    for rule in jp_serverapp.web_app.default_router.rules:
        for inner in getattr(rule.target, "rules", []):
            pattern = inner.matcher.regex.pattern
            if f"{API}/" in pattern:
                template = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern.split(API, 1)[1].rstrip("$"))
                registered |= {(template, m) for m in handler_methods(inner.target)}
    code, document = await api("GET", "/openapi.json")
    assert code == 200
    documented = {(path, m) for path, ops in document["paths"].items() for m in ops if m in METHODS}
    assert registered == documented
    assert document["servers"] == [{"url": f"{jp_base_url.rstrip('/')}{API}"}]
    from openapi_spec_validator import validate

    validate(document)


async def test_schemas(api):
    assert await api("GET", "/schemas/script") == (200, script_json_schema())
    assert await api("GET", "/schemas/schedule") == (200, schedule_json_schema())
    code, types = await api("GET", "/datasource-types")
    assert code == 200 and types["postgresql"]["properties"]["password"]["writeOnly"]


# --- validation -----------------------------------------------------------------------------


async def test_validate_reports_lines_and_the_catalog(api, orders_db):
    await add_sources(api, orders_db)
    script = json.dumps({"steps": [
        {"stepType": "sqlite", "category": "reader", "name": "Reader",
         "parameter": {"datasource": "lite", "table": ["orders"], "column": ["id"], "where": "ds='${bizdate}'"}},
        {"stepType": "sqlite", "category": "writer", "name": "Writer",
         "parameter": {"datasource": "pg", "table": "ods_orders", "column": ["id"]}}]}, indent=2)
    code, body = await api("POST", "/validate", {"script": script, "parameters": []})
    assert code == 200
    assert [d for d in body["diagnostics"] if d["source"] == "catalog" or "pg" in d["message"]]
    code, body = await api("POST", "/validate", {"script": '{\n  "steps": [\n'})
    assert code == 200 and body["diagnostics"][0]["source"] == "syntax" and body["diagnostics"][0]["line"] >= 2


@pytest.mark.parametrize("raw, message", [
    ("not json", "not JSON"), ("[1, 2]", "JSON object"), ("{}", "script is required"),
    ('{"script": 3}', "script must be a string"), (b"\xff\xfe", "not JSON"),
])
async def test_bad_bodies_are_400(api, raw, message):
    code, body = await api("POST", "/validate", raw=raw)
    assert code == 400 and message in body["message"]


# --- data sources, users and grants ------------------------------------------------------------


async def test_datasource_lifecycle(api, orders_db):
    lite, pg = await add_sources(api, orders_db)
    assert pg["params"]["password"] == "******" and lite["owner"] == "alice"
    code, listed = await api("GET", "/datasources")
    assert code == 200 and [d["name"] for d in listed] == ["lite", "pg"]
    assert (await api("GET", "/datasources/pg"))[1]["params"]["password"] == "******"
    code, changed = await api("PATCH", "/datasources/pg", {"description": "warehouse", "params": {"port": 10}})
    assert code == 200 and changed["description"] == "warehouse" and changed["params"]["port"] == 10
    assert (await api("POST", "/datasources", {"name": "lite", "type": "sqlite", "params": {"path": "x"}}))[0] == 409
    code, error = await api("POST", "/datasources", {"name": "bad", "type": "oracle"})
    assert code == 400 and error["issues"][0]["field"] == "type"
    assert (await api("POST", "/datasources", {"name": "u", "url": "nope://"}))[0] == 400
    assert (await api("PATCH", "/datasources/pg", {"params": {"port": "x"}}))[0] == 400
    # test connection: a failure is an answer, and never shows the password
    assert (await api("POST", "/datasources/lite/test"))[1]["ok"] is True
    code, tested = await api("POST", "/datasources/pg/test")
    assert code == 200 and tested["ok"] is False and tested["message"]
    # introspection
    assert await api("GET", "/datasources/lite/tables") == (200, {"tables": ["ods_orders", "orders"]})
    code, columns = await api("GET", "/datasources/lite/tables/orders/columns")
    assert code == 200 and [c["name"] for c in columns["columns"]] == ["id", "amount", "note"]
    assert (await api("GET", "/datasources/lite/tables/missing/columns"))[0] == 400
    assert (await api("GET", "/datasources/pg/tables"))[0] == 400
    # removal
    assert (await api("DELETE", "/datasources/pg"))[0] == 204
    assert (await api("GET", "/datasources/pg"))[0] == 404
    assert (await api("DELETE", "/datasources/pg"))[0] == 404


async def test_another_user_needs_a_grant(api, orders_db):
    await add_sources(api, orders_db)
    assert (await api("GET", "/datasources/lite", user="bob"))[0] == 404
    assert (await api("GET", "/datasources", user="bob")) == (200, [])
    assert (await api("GET", "/datasources/lite/tables", user="bob"))[0] == 404
    code, directory = await api("GET", "/datasource-directory", user="bob")
    assert code == 200 and {d["name"] for d in directory} == {"lite", "pg"}
    assert all(d["permissions"] == [] for d in directory)
    # bob asks, alice grants
    code, request = await api("POST", "/datasources/lite/permission-requests",
                              {"permission": "read", "reason": "reports"}, user="bob")
    assert code == 201 and request["status"] == "pending"
    assert (await api("POST", "/datasources/lite/permission-requests", {"permission": "read"}, user="bob"))[0] == 409
    assert (await api("POST", "/datasources/lite/permission-requests", {"permission": "own"}, user="bob"))[0] == 400
    code, waiting = await api("GET", "/permission-requests", params={"scope": "owned", "status": "pending"})
    assert code == 200 and [r["id"] for r in waiting] == [request["id"]]
    assert (await api("GET", "/permission-requests", params={"scope": "everything"}))[0] == 400
    path = f"/permission-requests/{request['id']}"
    assert (await api("PATCH", path, {"status": "granted"}, user="bob"))[0] == 403
    assert (await api("PATCH", path, {"status": "maybe"}))[0] == 400
    code, decided = await api("PATCH", path, {"status": "granted"})
    assert code == 200 and decided["status"] == "granted" and decided["decided_by"] == "alice"
    assert (await api("PATCH", path, {"status": "refused"}))[0] == 409
    assert (await api("PATCH", "/permission-requests/999", {"status": "granted"}))[0] == 404
    code, seen = await api("GET", "/datasources/lite", user="bob")
    assert code == 200 and seen["permissions"] == ["read"]
    # grants: only the owner manages them; bob may read, not remove
    assert (await api("GET", "/datasources/lite/grants", user="bob"))[0] == 403
    assert (await api("DELETE", "/datasources/lite", user="bob"))[0] == 403
    code, grant = await api("POST", "/datasources/lite/grants", {"user": "bob", "permission": "write"})
    assert code == 201 and grant["granted_by"] == "alice"
    code, grants = await api("GET", "/datasources/lite/grants")
    assert code == 200 and {(g["user"], g["permission"]) for g in grants} == {("bob", "read"), ("bob", "write")}
    assert (await api("POST", "/datasources/lite/grants", {"user": "bob", "permission": "all"}))[0] == 400
    assert (await api("DELETE", "/datasources/lite/grants/bob/read"))[0] == 204
    assert (await api("DELETE", "/datasources/lite/grants/bob/write"))[0] == 204
    assert (await api("DELETE", "/datasources/lite/grants/bob/admin"))[0] == 400
    assert (await api("GET", "/datasources/lite", user="bob"))[0] == 404
    # an admin sees everything
    assert (await api("GET", "/datasources/pg", user="root-admin"))[1]["permissions"][0] == "owner"


# --- projects, folders, tasks, submit, publish, lineage ----------------------------------------


async def test_projects_and_folders(api):
    code, projects = await api("GET", "/projects")
    assert code == 200 and [p["name"] for p in projects] == ["default"]
    code, project = await api("POST", "/projects", {"name": "sales", "mode": "dev_prod"})
    assert code == 201 and project["mode"] == "dev_prod"
    assert (await api("POST", "/projects", {"name": "sales"}))[0] == 409
    assert (await api("POST", "/projects", {"name": "no/slash"}))[0] == 400
    assert (await api("POST", "/projects", {"name": "p", "mode": "prod"}))[0] == 400
    pid = project["id"]
    assert (await api("GET", f"/projects/{pid}"))[1]["name"] == "sales"
    assert (await api("GET", "/projects/999"))[0] == 404
    assert (await api("PATCH", f"/projects/{pid}", {"mode": "basic"}, user="bob"))[0] == 403
    assert (await api("PATCH", f"/projects/{pid}", {"mode": "basic"}))[1]["mode"] == "basic"
    code, folder = await api("POST", f"/projects/{pid}/folders", {"name": "daily"})
    assert code == 201 and folder["parent_id"] == project["root_folder_id"]
    assert (await api("POST", f"/projects/{pid}/folders", {"name": "daily"}))[0] == 409
    assert (await api("POST", f"/projects/{pid}/folders", {"name": "a|b"}))[0] == 400
    code, sub = await api("POST", f"/projects/{pid}/folders", {"name": "sub", "parent_id": folder["id"]})
    assert code == 201
    assert (await api("PATCH", f"/folders/{folder['id']}", {"name": "nightly"}))[1]["name"] == "nightly"
    assert (await api("PATCH", f"/folders/{folder['id']}", {"parent_id": sub["id"]}))[0] == 400
    assert (await api("PATCH", f"/folders/{folder['id']}", {}))[0] == 400
    assert (await api("PATCH", f"/folders/{sub['id']}", {"parent_id": project["root_folder_id"]}))[0] == 200
    code, tree = await api("GET", f"/projects/{pid}/tree")
    assert code == 200 and sorted(f["name"] for f in tree["folders"]) == ["nightly", "sub"]
    assert (await api("DELETE", f"/folders/{project['root_folder_id']}"))[0] == 400
    assert (await api("DELETE", f"/folders/{sub['id']}"))[0] == 204
    assert (await api("DELETE", f"/folders/{sub['id']}"))[0] == 404


async def test_task_submit_publish_and_lineage(api, orders_db):
    await add_sources(api, orders_db)
    pid = (await api("POST", "/projects", {"name": "dw", "mode": "dev_prod"}))[1]["id"]
    new = {"name": "sync_orders", "schedule_type": "manual", "source_type": "sqlite",
           "source_datasource": "lite", "target_type": "sqlite", "target_datasource": "lite",
           "source_table": "orders", "target_table": "ods_orders"}
    code, task = await api("POST", f"/projects/{pid}/tasks", new)
    assert code == 201, task
    tid = task["id"]
    code, error = await api("POST", f"/projects/{pid}/tasks", {**new, "name": "bad:name"})
    assert code == 400 and error["issues"][0]["field"] == "name"
    assert (await api("POST", f"/projects/{pid}/tasks", {**new, "name": "x", "source_datasource": "lite"},
                      user="bob"))[0] == 400  # bob may not read lite
    assert (await api("POST", "/projects/999/tasks", new))[0] == 404
    assert (await api("GET", f"/projects/{pid}/tasks", params={"search": "orders"}))[1][0]["id"] == tid
    assert (await api("GET", f"/projects/{pid}/tasks", params={"folder_id": "x"}))[0] == 400
    code, detail = await api("GET", f"/tasks/{tid}")
    assert code == 200 and '"orders"' in detail["script"] and detail["schedule"]["basic"]["developer"] == "alice"
    assert (await api("PATCH", f"/tasks/{tid}", {"name": "orders_sync"}))[1]["name"] == "orders_sync"
    assert (await api("PATCH", f"/tasks/{tid}", {"folder_id": 99999}))[0] == 400
    assert (await api("GET", "/tasks/424242"))[0] == 404
    # drafts
    script = json.loads(detail["script"])
    assert (await api("PUT", f"/tasks/{tid}/script", {"script": json.dumps(script, indent=2)}))[0] == 200
    schedule = {**detail["schedule"], "run": {**detail["schedule"]["run"], "timeout_hours": 500}}
    code, error = await api("PUT", f"/tasks/{tid}/schedule", schedule)
    assert code == 400 and error["issues"]
    assert (await api("PUT", f"/tasks/{tid}/schedule", detail["schedule"]))[0] == 200
    # submit, versions, diff, publish
    assert (await api("POST", f"/tasks/{tid}/submit", {}))[0] == 400
    code, result = await api("POST", f"/tasks/{tid}/submit", {"remarks": "first"})
    assert code == 200 and result["status"] == "submitted", result
    code, pending = await api("GET", f"/projects/{pid}/to-publish")
    assert code == 200 and [p["task_id"] for p in pending] == [tid]
    assert (await api("POST", f"/projects/{pid}/publish", {"task_ids": ["x"]}))[0] == 400
    assert (await api("POST", f"/projects/{pid}/publish", {"task_ids": [tid]}))[0] == 200
    assert (await api("POST", f"/projects/{pid}/publish", {"task_ids": [tid]}))[0] == 409
    script["setting"] = {"speed": {"concurrent": 2}}
    await api("PUT", f"/tasks/{tid}/script", {"script": json.dumps(script, indent=2)})
    assert (await api("POST", f"/tasks/{tid}/submit", {"remarks": "faster"}))[1]["version"] == 2
    code, versions = await api("GET", f"/tasks/{tid}/versions")
    assert code == 200 and [v["number"] for v in versions] == [2, 1]
    assert (await api("GET", f"/tasks/{tid}/versions/1"))[1]["remarks"] == "first"
    assert (await api("GET", f"/tasks/{tid}/versions/7"))[0] == 404
    code, diff = await api("GET", f"/tasks/{tid}/diff", params={"from": "1", "to": "2"})
    assert code == 200 and "concurrent" in diff["diff"]
    assert (await api("GET", f"/tasks/{tid}/diff", params={"from": "1"}))[0] == 400
    # lineage
    code, graph = await api("GET", f"/tasks/{tid}/lineage")
    assert code == 200 and {"lite:orders", "lite:ods_orders"} <= {n["id"] for n in graph["nodes"]}
    code, graph = await api("GET", "/lineage", params={"datasource": "lite", "table": "ods_orders",
                                                       "direction": "up", "depth": "1"})
    assert code == 200 and graph["edges"]
    assert (await api("GET", "/lineage", params={"datasource": "lite"}))[0] == 400
    assert (await api("GET", f"/tasks/{tid}/lineage", params={"direction": "sideways"}))[0] == 400
    code, event = await api("GET", f"/tasks/{tid}/openlineage", params={"version": "1"})
    assert code == 200 and event["inputs"] == [{"namespace": "lite", "name": "orders"}]
    assert (await api("GET", f"/tasks/{tid}/openlineage", params={"version": "9"}))[0] == 404
    # deletion takes the submit path
    assert (await api("DELETE", f"/tasks/{tid}"))[0] == 400  # remarks are required
    code, deleted = await api("DELETE", f"/tasks/{tid}", params={"remarks": "gone"})
    assert code == 200 and deleted["status"] == "submitted"
    assert (await api("POST", f"/projects/{pid}/publish", {"task_ids": [tid]}))[0] == 200
    assert (await api("GET", f"/tasks/{tid}"))[0] == 404


# --- failures that are the server's own ---------------------------------------------------------


async def test_an_unexpected_error_is_a_generic_500(api, jp_serverapp, monkeypatch):
    pipeline = jp_serverapp.web_app.settings["offline_pipeline"]

    def broken(*_):
        raise RuntimeError(f"driver leaked {PASSWORD}")

    monkeypatch.setattr(pipeline.projects, "list", broken)
    code, body = await api("GET", "/projects")
    assert code == 500 and body == {"message": "internal server error; the server log has the details"}


async def test_blocking_calls_leave_the_server_responsive(api, jp_serverapp, monkeypatch):
    import time

    pipeline = jp_serverapp.web_app.settings["offline_pipeline"]
    monkeypatch.setattr(pipeline.projects, "list", lambda user: time.sleep(1) or [])
    slow = asyncio.ensure_future(api("GET", "/projects"))
    started = time.monotonic()
    assert (await api("GET", "/schemas/script"))[0] == 200
    assert time.monotonic() - started < 0.5
    assert (await slow) == (200, [])


# --- generated requests ---------------------------------------------------------------------


async def test_no_generated_request_makes_a_500(jp_serverapp, jp_http_port, jp_base_url, jp_auth_header, api,
                                                orders_db):
    await add_sources(api, orders_db)  # so that some names exist
    url = f"http://127.0.0.1:{jp_http_port}{jp_base_url.rstrip('/')}{API}"
    failures = await asyncio.to_thread(_fuzz, url, dict(jp_auth_header))
    assert not failures, "\n".join(failures)


def _fuzz(url: str, headers: dict[str, str]) -> list[str]:
    import hypothesis
    import schemathesis
    from schemathesis.checks import not_a_server_error
    from schemathesis.generation import GenerationMode

    schema = schemathesis.openapi.from_dict(openapi_document())
    schema.config.update(base_url=url)
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        strategy = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(GenerationMode.NEGATIVE)

        @hypothesis.settings(max_examples=8, deadline=None, database=None, derandomize=True,
                             suppress_health_check=list(hypothesis.HealthCheck))
        @hypothesis.given(case=strategy)
        def check(case):
            response = case.call(headers=headers, timeout=10)
            case.validate_response(response, checks=[not_a_server_error])

        try:
            check()
        except Exception as error:  # noqa: BLE001 - collect every operation's failure
            failures.append(f"{operation.method.upper()} {operation.path}: {str(error)[:800]}")
    return failures


async def test_validate_reports_a_missing_table_at_its_line(api, orders_db):
    await add_sources(api, orders_db)
    script = json.dumps({"type": "job", "version": "2.0", "steps": [
        {"stepType": "sqlite", "category": "reader", "name": "Reader",
         "parameter": {"datasource": "lite", "table": ["no_such_table"], "column": ["id"]}},
        {"stepType": "sqlite", "category": "writer", "name": "Writer",
         "parameter": {"datasource": "lite", "table": "orders", "column": ["id"]}}]}, indent=2)
    code, body = await api("POST", "/validate", {"script": script, "parameters": []})
    assert code == 200
    assert [(d["severity"], d["pointer"], d["line"], d["column"]) for d in body["diagnostics"]] == [
        ("error", "/steps/0/parameter/table/0", 12, 11)]
    assert "source table 'no_such_table' of data source 'lite' does not exist" in body["diagnostics"][0]["message"]


async def test_schedule_preview(api):
    schedule = {"schedule": {"cycle": {"type": "week", "weekdays": [7], "time": "02:30"}, "timezone": "Europe/Berlin",
                             "effective_from": "2030-03-24", "effective_to": "2030-04-07"}}
    code, body = await api("POST", "/schedule/preview", {**schedule, "count": 5})
    assert code == 200
    assert body == {"runs": [  # 2030-03-31: clocks jump from 02:00 to 03:00, so 02:30 runs at 03:30
        {"scheduled_time": "2030-03-24T02:30:00+01:00", "business_date": "2030-03-23"},
        {"scheduled_time": "2030-03-31T03:30:00+02:00", "business_date": "2030-03-30"},
        {"scheduled_time": "2030-04-07T02:30:00+02:00", "business_date": "2030-04-06"}]}
    code, body = await api("POST", "/schedule/preview", {"schedule": {"cycle": {"type": "day"}}})
    assert code == 200 and len(body["runs"]) == 10
    assert await api("POST", "/schedule/preview", {}) == (200, {"runs": []})  # no cycle: a manual task
    code, error = await api("POST", "/schedule/preview", {"schedule": {"cycle": {"type": "cron", "expression": "61 * * * *"}}})
    assert code == 400 and error["issues"][0]["field"] == "schedule.cycle.expression"
    code, error = await api("POST", "/schedule/preview", {**schedule, "count": 51})
    assert code == 400 and error["issues"] == [{"field": "count", "message": "1 to 50"}]
