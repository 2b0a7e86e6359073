"""The Operation Center over REST with two users: alice owns the tasks, bob may read but not
act (403). Production tasks, instance lists and details, logs (tail, follow, download),
code, run now, rerun, kill, backfills and notifications, and their 400/404/409 answers.
The server's scheduler is off: the tests set the states a scheduler would have set."""

import json
import sqlite3

import pytest
from sqlalchemy import update

from conftest import TEST_USER_HEADER, Api
from jupyter_offline_pipeline.store.models import InstanceRow


@pytest.fixture
def jp_server_config(jp_server_config):
    jp_server_config["OfflinePipelineApp"]["run_scheduler"] = False
    return jp_server_config


@pytest.fixture
def api(jp_fetch):
    return Api(jp_fetch)


@pytest.fixture
def store(jp_serverapp):
    return jp_serverapp.web_app.settings["offline_pipeline"].store


async def make_chain(api, tmp_path):
    """Alice's tasks in the default (basic) project: ``a`` copies orders into ods_orders,
    ``b`` ods_orders into dwd_orders (so it is a's downstream); ``draft`` is not submitted."""
    path = tmp_path / "orders.db"
    with sqlite3.connect(path) as conn:
        for table in ("orders", "ods_orders", "dwd_orders", "other"):
            conn.execute(f"create table {table} (id integer primary key, amount real)")
    assert (await api("POST", "/datasources", {"name": "lite", "url": f"sqlite:///{path}"}))[0] == 201
    project = (await api("GET", "/projects"))[1][0]["id"]
    ids = {}
    for name, source, target in [("a", "orders", "ods_orders"), ("b", "ods_orders", "dwd_orders"),
                                 ("draft", "other", "other")]:
        code, task = await api("POST", f"/projects/{project}/tasks", {
            "name": name, "schedule_type": "recurring", "source_type": "sqlite", "source_datasource": "lite",
            "target_type": "sqlite", "target_datasource": "lite", "source_table": source, "target_table": target})
        assert code == 201, task
        ids[name] = task["id"]
        if name != "draft":
            code, result = await api("POST", f"/tasks/{task['id']}/submit", {"remarks": "first"})
            assert code == 200 and result["status"] == "published", result
    return ids


def set_instance(store, instance_id, **values):
    """What a scheduler would have written."""
    with store.session() as session:
        session.execute(update(InstanceRow).where(InstanceRow.id == instance_id).values(**values))


async def test_production_tasks(api, tmp_path):
    chain = await make_chain(api, tmp_path)
    code, tasks = await api("GET", "/operations/tasks", user="bob")
    assert code == 200 and [t["name"] for t in tasks] == ["a", "b"]
    assert tasks[0]["downstream"] == [{"id": chain["b"], "name": "b"}] and tasks[0]["next_run_time"]
    assert (await api("GET", "/operations/tasks", params={"search": "B"}))[1][0]["id"] == chain["b"]
    assert (await api("GET", "/operations/tasks", params={"project_id": "999"}))[0] == 404
    assert (await api("GET", "/operations/tasks", params={"project_id": "x"}))[0] == 400


async def test_run_now_list_detail_code_and_kill(api, store, tmp_path):
    chain = await make_chain(api, tmp_path)
    a = chain["a"]
    code, error = await api("POST", f"/tasks/{a}/run", {}, user="bob")
    assert code == 403 and "alice (the owner)" in error["message"]
    code, error = await api("POST", f"/tasks/{a}/run", {"bizdate": "2024-02-30"})
    assert code == 400 and error["issues"] == [{"field": "bizdate", "message": "use YYYYMMDD or YYYY-MM-DD"}]
    code, error = await api("POST", f"/tasks/{a}/run", {"params": {"nope": "1"}})
    assert code == 400 and error["issues"][0]["field"] == "params.nope"
    assert (await api("POST", f"/tasks/{a}/run", {"params": ["x"]}))[0] == 400
    assert (await api("POST", f"/tasks/{chain['draft']}/run", {}))[0] == 409
    assert (await api("POST", "/tasks/999/run", {}))[0] == 404
    code, made = await api("POST", f"/tasks/{a}/run", {"bizdate": "20240101"})
    assert code == 201 and (made["kind"], made["state"], made["business_date"], made["triggered_by"]) == (
        "manual", "waiting_time", "2024-01-01", "alice")
    # lists and details, for anyone
    code, page = await api("GET", "/instances", user="bob", params={
        "task_id": str(a), "state": "waiting_time,running", "kind": "manual", "from": "2024-01-01", "to": "2024-01-01"})
    assert code == 200 and page["total"] == 1 and page["instances"][0]["id"] == made["id"]
    assert (await api("GET", "/instances", params={"owner": "bob"}))[1] == {"instances": [], "total": 0}
    for bad in ({"state": "waiting"}, {"kind": "x"}, {"from": "2024-13-01"}, {"limit": "0"}, {"limit": "x"},
                {"offset": "-1"}, {"backfill_id": "1.5"}):
        code, error = await api("GET", "/instances", params=bad)
        assert code == 400 and error["issues"], bad
    code, detail = await api("GET", f"/instances/{made['id']}", user="bob")
    assert code == 200 and detail["events"][0]["reason"] == "run now by alice" and detail["upstream"] == []
    assert (await api("GET", "/instances/999"))[0] == 404
    code, code_view = await api("GET", f"/instances/{made['id']}/code", user="bob")
    assert code == 200 and code_view["version"] == 1 and '"orders"' in code_view["script"]
    assert (await api("GET", "/instances/999/code"))[0] == 404
    # kill: alice may, bob may not, and only once
    set_instance(store, made["id"], state="running")
    assert (await api("POST", f"/instances/{made['id']}/kill", user="bob"))[0] == 403
    code, killed = await api("POST", f"/instances/{made['id']}/kill")
    assert code == 200 and killed["state"] == "killed"
    assert (await api("POST", f"/instances/{made['id']}/kill"))[0] == 409
    assert (await api("POST", "/instances/999/kill"))[0] == 404
    # the admin may act too
    assert (await api("POST", f"/tasks/{a}/run", {}, user="root-admin"))[0] == 201


async def test_rerun_and_notifications(api, store, tmp_path):
    chain = await make_chain(api, tmp_path)
    code, backfill = await api("POST", "/backfills", {"task_id": chain["a"], "from": "2024-01-01", "to": "2024-01-01",
                                                      "downstream": True})
    assert code == 201
    code, page = await api("GET", "/instances", params={"backfill_id": str(backfill["id"])})
    first, second = sorted(page["instances"], key=lambda i: i["id"])
    assert (await api("POST", f"/instances/{first['id']}/rerun", {}))[0] == 409  # still waiting
    set_instance(store, first["id"], state="failed", error="boom")
    set_instance(store, second["id"], state="not_run")
    assert (await api("POST", f"/instances/{first['id']}/rerun", {}, user="bob"))[0] == 403
    assert (await api("POST", f"/instances/{first['id']}/rerun", {"force": "yes"}))[0] == 400
    code, rerun = await api("POST", f"/instances/{first['id']}/rerun", {"downstream": True})
    assert code == 200 and [(i["id"], i["state"], i["attempt"]) for i in rerun] == [
        (first["id"], "waiting_upstream", 2), (second["id"], "waiting_upstream", 2)]
    assert (await api("POST", "/instances/999/rerun", {}))[0] == 404
    # notifications: the kill of a waiting instance is one
    code, before = await api("GET", "/notifications")
    assert code == 200 and before == {"events": [], "last": 0}
    await api("POST", f"/instances/{first['id']}/kill")
    code, after = await api("GET", "/notifications", user="bob", params={"after": str(before["last"])})
    assert code == 200 and [(e["instance_id"], e["state"], e["reason"], e["timed_out"]) for e in after["events"]] == [
        (first["id"], "killed", "killed by alice", False)]
    assert (await api("GET", "/notifications", params={"after": str(after["last"])}))[1]["events"] == []
    assert (await api("GET", "/notifications", params={"after": "x"}))[0] == 400
    assert (await api("GET", "/notifications", params={"limit": "501"}))[0] == 400


async def test_log_tail_follow_and_download(api, store, jp_fetch, tmp_path):
    chain = await make_chain(api, tmp_path)
    code, made = await api("POST", f"/tasks/{chain['a']}/run", {})
    path = f"/instances/{made['id']}/log"
    assert await api("GET", path, user="bob") == (200, {"text": "", "offset": 0, "size": 0, "finished": False})
    log = tmp_path / "run.log"
    log.write_text("one\ntwo\nthree\n")
    set_instance(store, made["id"], log_path=str(log))
    code, tail = await api("GET", path, params={"tail": "2"})
    assert code == 200 and tail["text"] == "two\nthree\n" and tail["offset"] == log.stat().st_size
    with log.open("a") as file:
        file.write("four\n")
    code, more = await api("GET", path, params={"offset": str(tail["offset"])})
    assert code == 200 and more["text"] == "four\n"
    for bad in ({"tail": "x"}, {"offset": "-1"}, {"offset": "999999"}, {"tail": "1", "offset": "0"},
                {"tail": "10001"}, {"download": "maybe"}):
        assert (await api("GET", path, params=bad))[0] == 400, bad
    response = await jp_fetch("pipeline", "api", "instances", str(made["id"]), "log", params={"download": "1"},
                              headers={TEST_USER_HEADER: "bob"})
    assert response.code == 200 and response.body == log.read_bytes()
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.headers["Content-Disposition"] == f'attachment; filename="instance-{made["id"]}.log"'
    assert (await api("GET", "/instances/999/log"))[0] == 404
    assert (await api("GET", "/instances/999/log", params={"download": "1"}))[0] == 404


async def test_backfills(api, store, tmp_path):
    chain = await make_chain(api, tmp_path)
    a, b = chain["a"], chain["b"]
    request = {"task_id": a, "from": "2024-01-01", "to": "2024-01-03", "downstream": True, "parallelism": 2}
    assert (await api("POST", "/backfills", request, user="bob"))[0] == 403
    for change, field in [({"from": "2024-01-04"}, "from"), ({"to": "2024/01/03"}, "to"),
                          ({"downstream": [999]}, "downstream"), ({"downstream": ["x"]}, "downstream"),
                          ({"downstream": [True]}, "downstream"), ({"downstream": "all"}, "downstream"),
                          ({"parallelism": 0}, "parallelism"), ({"task_id": None}, "task_id"),
                          ({"from": 20240101}, "from")]:
        code, error = await api("POST", "/backfills", {**request, **change})
        assert code == 400 and error["issues"][0]["field"] == field, (change, error)
    assert (await api("POST", "/backfills", {**request, "task_id": 999}))[0] == 404
    assert (await api("POST", "/backfills", {**request, "task_id": chain["draft"]}))[0] == 409
    code, backfill = await api("POST", "/backfills", request)
    assert code == 201 and (backfill["total"], backfill["dates_total"], backfill["state"]) == (6, 3, "running")
    assert [t["id"] for t in backfill["tasks"]] == [a, b]
    code, page = await api("GET", "/instances", params={"backfill_id": str(backfill["id"]), "limit": "500"})
    made = sorted(page["instances"], key=lambda i: i["id"])
    assert [(i["business_date"], i["task_id"]) for i in made] == [
        (f"2024-01-0{d}", t) for d in (1, 2, 3) for t in (a, b)]
    set_instance(store, made[0]["id"], state="success")
    set_instance(store, made[1]["id"], state="running")
    code, listed = await api("GET", "/backfills", user="bob", params={"task_id": str(a)})
    assert code == 200 and [x["id"] for x in listed] == [backfill["id"]]
    assert (await api("GET", "/backfills", params={"task_id": str(b)}))[1] == []
    assert (await api("GET", "/backfills", params={"task_id": "999"}))[0] == 404
    code, view = await api("GET", f"/backfills/{backfill['id']}", user="bob")
    assert code == 200 and view["counts"] == {"success": 1, "running": 1, "waiting_time": 4}
    assert (await api("GET", "/backfills/999"))[0] == 404
    assert (await api("POST", f"/backfills/{backfill['id']}/cancel", user="bob"))[0] == 403
    code, cancelled = await api("POST", f"/backfills/{backfill['id']}/cancel")
    assert code == 200 and cancelled["state"] == "cancelled" and cancelled["counts"] == {"success": 1, "killed": 5}
    assert (await api("POST", f"/backfills/{backfill['id']}/cancel"))[0] == 409
    assert (await api("POST", "/backfills/999/cancel"))[0] == 404


async def test_bad_bodies(api, tmp_path):
    chain = await make_chain(api, tmp_path)
    assert (await api("POST", f"/tasks/{chain['a']}/run", raw="[1]"))[0] == 400
    assert (await api("POST", "/backfills", raw="not json"))[0] == 400
    code, error = await api("POST", "/backfills", {"task_id": chain["a"], "from": "2024-01-01", "to": "2024-01-01",
                                                   "parallelism": 2**70})
    assert code == 400 and json.dumps(error)
