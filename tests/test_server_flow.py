"""The issue's "Done means", end to end through the REST API only, against the real
MariaDB (source) and PostgreSQL (target): data sources, a dev_prod project and a folder,
a task made the Create Offline Script way, draft edits, live validation, submit with its
five checks, versions, lineage, publish, a basic project, and the failure paths a user
meets (remarks, a dropped source table, a duplicated target, another user's grants).
No response may ever carry a data source's password."""

import json
import secrets
from urllib.parse import quote

import pytest

from conftest import MARIADB_PARAMS, PG_PARAMS, Api

SECRET = f"p@ss-{secrets.token_hex(6)}"  # the fake password of a data source on a closed port
SECRET_FORMS = (SECRET, quote(SECRET, safe=""), json.dumps(SECRET)[1:-1])


@pytest.fixture
def api(jp_fetch):
    client = Api(jp_fetch)
    yield client
    assert client.bodies
    leaked = [b[:300] for b in client.bodies if any(form.encode() in b for form in SECRET_FORMS)]
    assert not leaked, f"a response carried the password: {leaked}"


SOURCE_DDL = "(id INT PRIMARY KEY, amount DECIMAL(10,2), gmt_create VARCHAR(8))"
TARGET_DDL = "(id INT PRIMARY KEY, amount NUMERIC(10,2), gmt_create VARCHAR(8))"
COLUMNS = ["id", "amount", "gmt_create"]


async def add_datasources(api, user="alice"):
    """``src`` (MariaDB, by URL), ``dst`` (PostgreSQL, by params), both tested, and ``vault``
    (PostgreSQL with the secret password, on a closed port)."""
    my = MARIADB_PARAMS
    code, src = await api("POST", "/datasources", {
        "name": "src", "url": f"mysql+pymysql://{my['user']}@{my['host']}:{my['port']}/{my['database']}",
        "description": "orders (MariaDB)"}, user)
    assert code == 201 and src["type"] == "mysql" and src["owner"] == user, src
    code, dst = await api("POST", "/datasources", {"name": "dst", "type": "postgresql", "params": dict(PG_PARAMS)}, user)
    assert code == 201 and dst["type"] == "postgresql", dst
    for name in ("src", "dst"):
        code, tested = await api("POST", f"/datasources/{name}/test", user=user)
        assert code == 200 and tested["ok"] is True, (name, tested)
    code, vault = await api("POST", "/datasources", {"name": "vault", "type": "postgresql", "params": {
        "host": "127.0.0.1", "port": 9, "database": "d", "user": "u", "password": SECRET}}, user)
    assert code == 201 and vault["params"]["password"] != SECRET, vault
    code, by_url = await api("POST", "/datasources", {
        "name": "vault_url", "url": f"postgresql://u:{quote(SECRET, safe='')}@127.0.0.1:9/d"}, user)
    assert code == 201, by_url
    for name in ("vault", "vault_url"):
        code, tested = await api("POST", f"/datasources/{name}/test", user=user)
        assert code == 200 and tested["ok"] is False and tested["message"], tested
        assert (await api("GET", f"/datasources/{name}", user=user))[0] == 200
        assert (await api("GET", f"/datasources/{name}/tables", user=user))[0] == 400
    assert (await api("PATCH", "/datasources/vault", {"description": "still secret"}, user=user))[0] == 200
    code, listed = await api("GET", "/datasources", user=user)
    assert code == 200 and {d["name"] for d in listed} == {"src", "dst", "vault", "vault_url"}
    return src, dst


def task_body(name, source_table, target_table, **extra):
    return {"name": name, "schedule_type": "recurring", "source_type": "mysql", "source_datasource": "src",
            "target_type": "postgresql", "target_datasource": "dst", "source_table": source_table,
            "target_table": target_table, **extra}


def steps(script_text):
    script = json.loads(script_text)
    reader = next(s for s in script["steps"] if s["category"] == "reader")
    writer = next(s for s in script["steps"] if s["category"] == "writer")
    return script, reader, writer


def check(result, name):
    return next(c for c in result["checks"] if c["name"] == name)


async def test_offline_script_from_mariadb_to_postgresql(api, mariadb_db, pg_db):
    source = mariadb_db.make_table(SOURCE_DDL, [(1, 9.5, "20240101"), (2, 3.25, "20240102")], prefix="flow_src")
    target = pg_db.make_table(TARGET_DDL, prefix="flow_dst")
    await add_datasources(api)
    code, tables = await api("GET", "/datasources/src/tables")
    assert code == 200 and source in tables["tables"]
    code, columns = await api("GET", f"/datasources/dst/tables/{target}/columns")
    assert code == 200 and [c["name"] for c in columns["columns"]] == COLUMNS

    # (2) a dev_prod project and a folder
    code, project = await api("POST", "/projects", {"name": "dw", "mode": "dev_prod"})
    assert code == 201 and project["mode"] == "dev_prod", project
    pid = project["id"]
    code, folder = await api("POST", f"/projects/{pid}/folders", {"name": "ods"})
    assert code == 201, folder

    # (3) the Create Offline Script dialog: the template introspects both tables
    code, task = await api("POST", f"/projects/{pid}/tasks",
                           task_body("sync_orders", source, target, folder_id=folder["id"],
                                     description="orders into the warehouse"))
    assert code == 201, task
    tid = task["id"]
    assert task["folder_id"] == folder["id"] and task["owner"] == "alice"
    code, tree = await api("GET", f"/projects/{pid}/tree")
    assert code == 200 and tree["id"] == project["root_folder_id"], tree
    assert [(f["name"], [t["id"] for t in f["tasks"]]) for f in tree["folders"]] == [("ods", [tid])]
    assert tree["folders"][0]["tasks"][0]["status"] == "draft"

    # (4) the draft: edit the script and the schedule
    code, detail = await api("GET", f"/tasks/{tid}")
    assert code == 200, detail
    script, reader, writer = steps(detail["script"])
    assert reader["stepType"] == "mysql" and writer["stepType"] == "postgresql"
    assert reader["parameter"]["datasource"] == "src" and writer["parameter"]["datasource"] == "dst"
    assert reader["parameter"]["table"] == [source] and writer["parameter"]["table"] == target
    assert reader["parameter"]["column"] == COLUMNS and writer["parameter"]["column"] == COLUMNS
    reader["parameter"]["where"] = "gmt_create <= '${bizdate}'"
    writer["parameter"]["preSql"] = ["delete from @table where gmt_create = '${bizdate}'"]
    edited = json.dumps(script, indent=2)
    code, saved = await api("PUT", f"/tasks/{tid}/script", {"script": edited})
    assert code == 200, saved
    schedule = {**detail["schedule"], "schedule": {**detail["schedule"]["schedule"],
                                                   "cycle": {"type": "day", "time": "02:30"}}}
    code, saved = await api("PUT", f"/tasks/{tid}/schedule", schedule)
    assert code == 200, saved
    code, detail = await api("GET", f"/tasks/{tid}")
    assert detail["script"] == edited and detail["schedule"]["schedule"]["cycle"] == {"type": "day", "time": "02:30"}

    # (5) live validation: clean, then a data source that does not exist, on its line
    code, body = await api("POST", "/validate", {"script": edited, "parameters": []})
    assert code == 200 and not [d for d in body["diagnostics"] if d["severity"] == "error"], body
    broken = edited.replace('"datasource": "dst"', '"datasource": "no_such_source"')
    line = broken.splitlines().index(next(l for l in broken.splitlines() if "no_such_source" in l)) + 1
    code, body = await api("POST", "/validate", {"script": broken, "parameters": []})
    errors = [d for d in body["diagnostics"] if d["severity"] == "error"]
    assert code == 200 and errors, body
    assert any(d["line"] == line and "no_such_source" in d["message"] for d in errors), errors
    code, body = await api("POST", "/validate", {"script": edited.replace("${bizdate}", "${undefined_p}"),
                                                  "parameters": []})
    assert any("undefined_p" in d["message"] and d["severity"] == "error" for d in body["diagnostics"]), body

    # (6) submit: every check passes, a version, lineage at table and column level
    code, result = await api("POST", f"/tasks/{tid}/submit", {"remarks": "first cut"})
    assert code == 200 and result["status"] == "submitted" and result["version"] == 1, result
    assert [c["name"] for c in result["checks"]] == [
        "configuration", "permission", "schema", "table_duplication", "dependency"]
    assert all(c["status"] == "pass" for c in result["checks"]), result
    code, versions = await api("GET", f"/tasks/{tid}/versions")
    assert code == 200 and [(v["number"], v["remarks"], v["author"]) for v in versions] == [(1, "first cut", "alice")]
    assert versions[0]["published_at"] is None
    assert (await api("GET", f"/tasks/{tid}"))[1]["status"] == "to_publish"
    expected = {(f"src:{source}.{c}", f"dst:{target}.{c}") for c in COLUMNS}
    code, graph = await api("GET", f"/tasks/{tid}/lineage")
    assert code == 200, graph
    assert {(e["source"], e["target"]) for e in graph["edges"] if e["kind"] == "column"} == expected
    assert (f"src:{source}", f"dst:{target}") in {(e["source"], e["target"]) for e in graph["edges"]}
    for table in (("src", source), ("dst", target)):
        code, graph = await api("GET", "/lineage", params={"datasource": table[0], "table": table[1]})
        assert code == 200, graph
        assert {(e["source"], e["target"]) for e in graph["edges"] if e["kind"] == "column"} == expected
        assert all(e["task_id"] == tid for e in graph["edges"])
    code, event = await api("GET", f"/tasks/{tid}/openlineage")
    assert code == 200 and event["inputs"] == [{"namespace": "src", "name": source}], event

    # (7) to publish, publish, then a second version and its diff
    code, pending = await api("GET", f"/projects/{pid}/to-publish")
    assert code == 200 and [(p["task_id"], p["number"]) for p in pending] == [(tid, 1)], pending
    code, published = await api("POST", f"/projects/{pid}/publish", {"task_ids": [tid]})
    assert code == 200 and [p["task_id"] for p in published] == [tid], published
    assert (await api("GET", f"/tasks/{tid}"))[1]["status"] == "published"
    code, version = await api("GET", f"/tasks/{tid}/versions/1")
    assert code == 200 and version["published_by"] == "alice" and version["published_at"], version
    assert (await api("GET", f"/projects/{pid}/to-publish"))[1] == []
    reader["parameter"]["where"] = "gmt_create = '${bizdate}'"
    script["setting"]["speed"]["concurrent"] = 3
    code, _ = await api("PUT", f"/tasks/{tid}/script", {"script": json.dumps(script, indent=2)})
    assert code == 200
    code, result = await api("POST", f"/tasks/{tid}/submit", {"remarks": "one day only"})
    assert code == 200 and result["status"] == "submitted" and result["version"] == 2, result
    code, diff = await api("GET", f"/tasks/{tid}/diff", params={"from": "1", "to": "2"})
    assert code == 200, diff
    assert "gmt_create <= " in diff["diff"] and "gmt_create = " in diff["diff"] and "concurrent" in diff["diff"]
    code, pending = await api("GET", f"/projects/{pid}/to-publish")
    assert [(p["task_id"], p["number"], p["remarks"]) for p in pending] == [(tid, 2, "one day only")]
    code, versions = await api("GET", f"/tasks/{tid}/versions")
    assert [v["number"] for v in versions] == [2, 1]

    # (8) a basic project: submitting publishes at once
    other = pg_db.make_table(TARGET_DDL, prefix="flow_basic")
    code, basic = await api("POST", "/projects", {"name": "adhoc", "mode": "basic"})
    assert code == 201, basic
    code, quick = await api("POST", f"/projects/{basic['id']}/tasks", task_body("quick", source, other))
    assert code == 201, quick
    assert quick["folder_id"] == basic["root_folder_id"]
    code, result = await api("POST", f"/tasks/{quick['id']}/submit", {"remarks": "go"})
    assert code == 200 and result["status"] == "published" and result["version"] == 1, result
    assert (await api("GET", f"/tasks/{quick['id']}"))[1]["status"] == "published"
    code, version = await api("GET", f"/tasks/{quick['id']}/versions/1")
    assert version["published_by"] == "alice" and version["published_at"]
    assert (await api("GET", f"/projects/{basic['id']}/to-publish"))[1] == []
    # the source table now feeds two targets
    code, graph = await api("GET", "/lineage", params={"datasource": "src", "table": source, "direction": "down"})
    targets = {e["target"] for e in graph["edges"] if e["kind"] == "table"}
    assert targets == {f"dst:{target}", f"dst:{other}"}, graph


async def test_submit_failures_and_warnings(api, mariadb_db, pg_db):
    source = mariadb_db.make_table(SOURCE_DDL, prefix="flow_src")
    doomed = mariadb_db.make_table(SOURCE_DDL, prefix="flow_gone")
    target = pg_db.make_table(TARGET_DDL, prefix="flow_dst")
    await add_datasources(api)
    pid = (await api("POST", "/projects", {"name": "dw", "mode": "dev_prod"}))[1]["id"]
    code, task = await api("POST", f"/projects/{pid}/tasks", task_body("first", source, target))
    assert code == 201, task
    tid = task["id"]

    # remarks: required, at most 128 characters; nothing is versioned
    for body in ({}, {"remarks": ""}, {"remarks": "   "}):
        code, error = await api("POST", f"/tasks/{tid}/submit", body)
        assert code == 400 and [i["field"] for i in error["issues"]] == ["remarks"], error
    code, error = await api("POST", f"/tasks/{tid}/submit", {"remarks": "x" * 129})
    assert code == 400 and error["issues"][0]["field"] == "remarks" and "128" in error["issues"][0]["message"]
    assert (await api("GET", f"/tasks/{tid}/versions")) == (200, [])
    code, result = await api("POST", f"/tasks/{tid}/submit", {"remarks": "x" * 128})
    assert code == 200 and result["status"] == "submitted", result

    # a column the target lacks, or a column count that differs: the schema check fails
    code, detail = await api("GET", f"/tasks/{tid}")
    script, reader, writer = steps(detail["script"])
    writer["parameter"]["column"] = ["id", "amount", "no_such_col"]
    assert (await api("PUT", f"/tasks/{tid}/script", {"script": json.dumps(script, indent=2)}))[0] == 200
    code, result = await api("POST", f"/tasks/{tid}/submit", {"remarks": "bad column"})
    assert code == 200 and result["status"] == "failed", result
    assert any("no_such_col" in m and target in m for m in check(result, "schema")["messages"]), result
    writer["parameter"]["column"] = ["id", "amount"]
    assert (await api("PUT", f"/tasks/{tid}/script", {"script": json.dumps(script, indent=2)}))[0] == 200
    code, result = await api("POST", f"/tasks/{tid}/submit", {"remarks": "two columns"})
    assert code == 200 and result["status"] == "failed", result
    assert any("3 columns" in m and "2" in m for m in check(result, "schema")["messages"]), result
    assert [v["number"] for v in (await api("GET", f"/tasks/{tid}/versions"))[1]] == [1]

    # a task whose source table was dropped: the schema check fails, and says why
    code, gone = await api("POST", f"/projects/{pid}/tasks",
                           task_body("gone", doomed, pg_db.make_table(TARGET_DDL, prefix="flow_x")))
    assert code == 201, gone
    mariadb_db.execute(f"DROP TABLE {doomed}")
    code, result = await api("POST", f"/tasks/{gone['id']}/submit", {"remarks": "will fail"})
    assert code == 200 and result["status"] == "failed" and result["version"] is None, result
    schema = check(result, "schema")
    assert schema["status"] == "fail" and any(doomed in m and "src" in m for m in schema["messages"]), schema
    assert check(result, "configuration")["status"] == "pass" and check(result, "permission")["status"] == "pass"
    assert [check(result, n)["status"] for n in ("table_duplication", "dependency")] == ["skipped", "skipped"]
    assert (await api("GET", f"/tasks/{gone['id']}/versions")) == (200, [])
    assert (await api("GET", f"/tasks/{gone['id']}/lineage"))[1]["edges"] == []

    # a second task writing the same target table: a warning to confirm past
    code, twin = await api("POST", f"/projects/{pid}/tasks", task_body("twin", source, target))
    assert code == 201, twin
    code, result = await api("POST", f"/tasks/{twin['id']}/submit", {"remarks": "same target"})
    assert code == 200 and result["status"] == "needs_confirmation" and result["version"] is None, result
    duplication = check(result, "table_duplication")
    assert duplication["status"] == "warning" and any("'first'" in m and target in m for m in duplication["messages"])
    assert (await api("GET", f"/tasks/{twin['id']}/versions")) == (200, [])
    code, result = await api("POST", f"/tasks/{twin['id']}/submit",
                             {"remarks": "same target", "confirm_warnings": True})
    assert code == 200 and result["status"] == "submitted" and result["version"] == 1, result
    assert check(result, "table_duplication")["status"] == "warning"
    code, graph = await api("GET", "/lineage", params={"datasource": "dst", "table": target, "direction": "up"})
    assert {e["task_id"] for e in graph["edges"]} == {tid, twin["id"]}

    # bob may not read alice's source nor write her target until she grants it
    code, bobs = await api("POST", "/projects", {"name": "bobs", "mode": "basic"}, user="bob")
    assert code == 201, bobs
    path = f"/projects/{bobs['id']}/tasks"
    code, error = await api("POST", path, task_body("bob_sync", source, target), user="bob")
    assert code == 400, error
    assert {"source_datasource", "target_datasource"} <= {i["field"] for i in error["issues"]}, error
    assert (await api("GET", f"/projects/{bobs['id']}/tasks", user="bob")) == (200, [])
    code, grant = await api("POST", "/datasources/src/grants", {"user": "bob", "permission": "read"})
    assert code == 201 and grant["granted_by"] == "alice", grant
    assert (await api("POST", "/datasources/src/grants", {"user": "bob", "permission": "read"}, user="bob"))[0] == 403
    code, error = await api("POST", path, task_body("bob_sync", source, target), user="bob")
    assert code == 400 and [i["field"] for i in error["issues"]] == ["target_datasource"], error
    code, grant = await api("POST", "/datasources/dst/grants", {"user": "bob", "permission": "write"})
    assert code == 201, grant
    code, bob_task = await api("POST", path, task_body("bob_sync", source, target), user="bob")
    assert code == 201 and bob_task["owner"] == "bob", bob_task
    # bob sees the data sources he was granted, never their secrets, and not alice's vault
    code, seen = await api("GET", "/datasources", user="bob")
    assert code == 200 and {d["name"] for d in seen} == {"src", "dst"}
    assert (await api("GET", "/datasources/vault", user="bob"))[0] == 404
    # and he may not submit alice's task
    assert (await api("POST", f"/tasks/{tid}/submit", {"remarks": "mine now"}, user="bob"))[0] == 403
    # once alice revokes read, bob's submit fails the permission check
    assert (await api("DELETE", "/datasources/src/grants/bob/read"))[0] == 204
    code, result = await api("POST", f"/tasks/{bob_task['id']}/submit", {"remarks": "try"}, user="bob")
    assert code == 200 and result["status"] == "failed", result
    permission = check(result, "permission")
    assert permission["status"] == "fail" and any("read" in m and "src" in m for m in permission["messages"])
