"""``jupyter pipeline ...``: validate, run, data sources, convert, template, scheduler, demo.

Every user mistake ends in one clear sentence on stderr and a non-zero exit, never a
traceback. Progress goes to stderr and results to stdout, so ``--json`` output pipes.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import sys
from pathlib import Path

from . import __version__
from .connectors import ConnectorError, load_plugins
from .script import ScriptError, validate_script
from .script.datax import convert_datax
from .script.params import ParamContext, ParameterError, parse_assignments, parse_bizdate
from .script.template import dump_script, script_template
from .service.errors import ServiceError
from .service.users import User


class UsageError(Exception):
    """A mistake in what the user typed or pointed at."""


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        load_plugins()
        return args.handler(args)
    except ScriptError as error:
        for diagnostic in error.diagnostics:
            print(diagnostic.format(), file=sys.stderr)
        return 1
    except (UsageError, ConnectorError, ParameterError, ServiceError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def acting_user() -> User:
    """The command line's user administers their own local store."""
    return User(os.environ.get("JUPYTERHUB_USER") or getpass.getuser(), is_admin=True)


# --- commands -------------------------------------------------------------------------


def cmd_validate(args) -> int:
    text = _read(args.script)
    service = _datasources(args)
    defined = _assignments(args.param)
    diagnostics = validate_script(text, datasource_type=service.type_of, defined_parameters=defined)
    if args.json:
        print(json.dumps([d.to_dict() for d in diagnostics], indent=2, ensure_ascii=False))
    else:
        for diagnostic in diagnostics:
            print(diagnostic.format())
        if not diagnostics:
            print(f"{args.script}: no problems", file=sys.stderr)
    return 1 if any(d.severity == "error" for d in diagnostics) else 0


def cmd_run(args) -> int:
    from .engine import prepare_job, run_job
    from .progress import ProgressBar

    overrides = _assignments(args.param)
    context = (ParamContext.for_bizdate(parse_bizdate(args.bizdate), overrides=overrides)
               if args.bizdate else ParamContext(overrides=overrides))  # default: yesterday
    text = _read(args.script)
    service = _datasources(args)
    job = prepare_job(text, service.resolve, context, datasource_type=service.type_of)
    with ProgressBar(enabled=not args.quiet) as bar:
        summary = run_job(job, progress=bar.update)
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(summary.format())
    return 0 if summary.status == "success" else 1


def cmd_datasource_add(args) -> int:
    from .service import parse_url

    if bool(args.url) == bool(args.param):
        raise UsageError("give either --url URL or --param KEY=VALUE ...")
    if args.url:
        kind, params = parse_url(args.url)
        if args.type and args.type != kind:
            raise UsageError(f"--type {args.type} does not match the URL, which is {kind}")
    else:
        kind, params = args.type, _assignments(args.param)
    if not kind:
        raise UsageError("--type is required with --param")
    info = _datasources(args).add(acting_user(), args.name, kind, params, args.description or "")
    print(f"added data source {info.name!r} ({info.type})")
    return 0


def cmd_datasource_list(args) -> int:
    infos = _datasources(args).list(acting_user())
    if args.json:
        print(json.dumps([i.to_dict() for i in infos], indent=2))
        return 0
    for info in infos:
        where = info.params.get("path") or "{user}@{host}:{port}/{database}".format(**{
            k: info.params.get(k, "") for k in ("user", "host", "port", "database")})
        print(f"{info.name:<24} {info.type:<11} {where}")
    return 0


def cmd_datasource_test(args) -> int:
    try:
        print(f"{args.name}: OK, {_datasources(args).test(acting_user(), args.name)}")
        return 0
    except ConnectorError as error:
        print(f"{args.name}: FAILED, {error}", file=sys.stderr)
        return 1


def cmd_datasource_remove(args) -> int:
    _datasources(args).remove(acting_user(), args.name)
    print(f"removed data source {args.name!r}")
    return 0


def cmd_convert(args) -> int:
    try:
        job = json.loads(_read(args.datax_job))
    except json.JSONDecodeError as error:
        raise UsageError(f"{args.datax_job}:{error.lineno}:{error.colno}: {error.msg}") from None
    script, diagnostics = convert_datax(job)
    for diagnostic in diagnostics:
        print(diagnostic.format(), file=sys.stderr)
    print(dump_script(script), end="")
    return 0


def cmd_template(args) -> int:
    introspected = {}
    if args.source_datasource and args.source_table:
        introspected["source_columns"] = _columns(args, args.source_datasource, args.source_table)
    if args.target_datasource and args.target_table:
        introspected["target_columns"] = _columns(args, args.target_datasource, args.target_table)
    script = script_template(
        args.source, args.target,
        source_datasource=args.source_datasource or "", target_datasource=args.target_datasource or "",
        source_table=args.source_table or "", target_table=args.target_table or "", **introspected,
    )
    print(dump_script(script), end="")
    return 0


def cmd_demo(args) -> int:
    from .demo import publish_demo_task, run_demo

    service, user = _datasources(args), acting_user()
    status = run_demo(service, Path(args.dir), user)
    if status or not args.lab:
        return status
    print(publish_demo_task(service, user), file=sys.stderr)
    command = ["jupyter", "lab", "--no-browser", f"--ServerApp.root_dir={Path(args.dir).resolve()}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # Jupyter refuses root without it
    if args.db_url:
        command.append(f"--OfflinePipelineApp.db_url={args.db_url}")
    print("starting JupyterLab (Ctrl+C stops it): open the URL it prints, then the Batch Pipeline "
          "sidebar", file=sys.stderr, flush=True)
    os.execvp(command[0], command)


def cmd_scheduler(args) -> int:
    """Run every task's instances until SIGTERM or Ctrl+C, on the store the servers share."""
    import signal

    from .crypto import SecretBox
    from .scheduler.scheduler import Scheduler
    from .store import Store, data_dir

    scheduler = Scheduler(Store(args.db_url), SecretBox.from_environment(data_dir() / "secret.key"),
                          max_workers=args.max_workers, catch_up=args.catch_up, log_dir=args.log_dir,
                          scheduler_id=args.scheduler_id)
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: scheduler.request_stop())
    print(f"scheduler {scheduler.scheduler_id}: {args.max_workers} workers on "
          f"{scheduler.store.engine.url.render_as_string()}", file=sys.stderr, flush=True)
    scheduler.run_forever()
    scheduler.stop()
    return 0


# --- helpers --------------------------------------------------------------------------


def _read(path: str) -> str:
    try:
        return sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text") from None


def _assignments(pairs: list[str] | None) -> dict[str, str]:
    return parse_assignments(pairs or [])


def _datasources(args):
    from .service import DataSourceService
    from .store import Store

    return DataSourceService(Store(args.db_url))


def _columns(args, datasource: str, table: str) -> list[str]:
    return [column["name"] for column in _datasources(args).columns(acting_user(), datasource, table)]


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jupyter pipeline", description="Offline pipeline scripts: validate, run, manage data sources.")
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument("--db-url", help="the store (default: an SQLite file in the Jupyter data dir)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("validate", help="report every problem of a script")
    p.add_argument("script", help="the script file (- for stdin)")
    p.add_argument("--param", action="append", metavar="NAME=VALUE", help="a custom parameter")
    p.add_argument("--json", action="store_true", help="diagnostics as one JSON array")
    p.set_defaults(handler=cmd_validate)

    p = commands.add_parser("run", help="run a script now")
    p.add_argument("script", help="the script file (- for stdin)")
    p.add_argument("--bizdate", help="the business date, YYYYMMDD (default: yesterday)")
    p.add_argument("--param", action="append", metavar="NAME=VALUE", help="a parameter value")
    p.add_argument("--json", action="store_true", help="the summary as one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=cmd_run)

    ds = commands.add_parser("datasource", help="manage data sources").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    p = ds.add_parser("add", help="add a data source")
    p.add_argument("name")
    p.add_argument("--type", help="postgresql, mysql, sqlite, duckdb, csv, parquet, jsonl")
    p.add_argument("--url", help="SQLAlchemy form, e.g. postgresql://user@host:5432/db")
    p.add_argument("--param", action="append", metavar="KEY=VALUE", help="a connection field")
    p.add_argument("--description")
    p.set_defaults(handler=cmd_datasource_add)
    p = ds.add_parser("list", help="list data sources (passwords masked)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_datasource_list)
    for name, handler, text in (("test", cmd_datasource_test, "test a connection"),
                                ("remove", cmd_datasource_remove, "remove a data source")):
        p = ds.add_parser(name, help=text)
        p.add_argument("name")
        p.set_defaults(handler=handler)

    p = commands.add_parser("convert", help="convert a DataX job to the script layout")
    p.add_argument("datax_job")
    p.set_defaults(handler=cmd_convert)

    p = commands.add_parser("template", help="print a script template for a source and target")
    p.add_argument("--source", required=True, help="source step type")
    p.add_argument("--target", required=True, help="target step type")
    p.add_argument("--source-datasource")
    p.add_argument("--source-table")
    p.add_argument("--target-datasource")
    p.add_argument("--target-table")
    p.set_defaults(handler=cmd_template)

    p = commands.add_parser("scheduler", help="run the scheduler (for servers that leave it to a daemon)")
    p.add_argument("--max-workers", type=_positive, default=4, help="instances run at once (default 4)")
    p.add_argument("--catch-up", choices=["run", "skip"], default="run",
                   help="runs due while no scheduler ran: run them (default) or record them as not_run")
    p.add_argument("--log-dir", help="where instance logs go (default: logs/ in the Jupyter data dir)")
    p.add_argument("--scheduler-id", help="this scheduler's name in the store (default: the host name)")
    p.set_defaults(handler=cmd_scheduler)

    p = commands.add_parser("demo", help="create demo data sources and run a demo script")
    p.add_argument("--dir", default=str(Path.cwd() / "pipeline-demo"), help="where the demo files go")
    p.add_argument("--lab", action="store_true",
                   help="then put the demo task in production and start JupyterLab on the demo folder")
    p.set_defaults(handler=cmd_demo)
    return parser


if __name__ == "__main__":
    sys.exit(main())
