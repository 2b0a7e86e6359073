"""The ``%pipeline`` line magic and ``%%pipeline`` cell magic (``%load_ext
jupyter_offline_pipeline``): one argparse sub-command per action, each a few lines over a
``PipelineClient`` method, returning the client's result objects so that
``instances = %pipeline instances --state failed`` keeps them for further use.

Mistakes in the arguments are IPython usage errors; the server's refusals are one
``PipelineError`` with its message and field issues; neither shows a traceback. An
operation that ran but did not succeed (a submit whose checks failed, a script saved with
errors, a run that failed) shows its result and then raises, so "Run all" stops there.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.display import display

from .client import PipelineClient
from .display import Progress, TaskStatus, progress_from_log
from .errors import PipelineError

POLL_SECONDS = 1.0


# --- the command table ----------------------------------------------------------------------


@dataclass
class Command:
    help: str
    arguments: tuple[tuple[tuple[str, ...], dict[str, Any]], ...]
    run: Callable[..., Any]  # (magics, arguments, cell) -> the result to show
    cell: bool = False  # takes the cell's body (%%pipeline); it checks when it needs one


COMMANDS: dict[str, Command] = {}


def arg(*flags: str, **options: Any) -> tuple[tuple[str, ...], dict[str, Any]]:
    return flags, options


def command(name: str, help: str, *arguments, cell: bool = False):
    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        COMMANDS[name] = Command(help, arguments, function, cell)
        return function
    return register


def _parameter(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return name, value


def _day(text: str) -> str:
    if not re.fullmatch(r"[0-9]{8}|[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: use YYYYMMDD or YYYY-MM-DD")
    return text


def _bizdate(text: str) -> str:
    if not re.fullmatch(r"[0-9]{8}", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a business date: use YYYYMMDD")
    return text


TASK = arg("task", metavar="TASK", help="a task name (in the client's project, or PROJECT/NAME)")
INSTANCE = arg("instance", metavar="INSTANCE", type=int, help="an instance id")
PARAMS = arg("--param", dest="params", metavar="NAME=VALUE", type=_parameter, action="append", default=[],
             help="a custom parameter's value (repeatable)")


@command("connect", "use another server or project (default: the server this kernel runs under)",
         arg("url", nargs="?", help="the server's base URL (default: discover it)"),
         arg("--token", help="its token"), arg("--project", default="default", help="where task names are looked up"))
def _connect(magics: PipelineMagics, args, cell):
    magics.client = PipelineClient(args.url, args.token, project=args.project)
    return magics.client


@command("datasources", "the data sources you may see, with your permissions")
def _datasources(magics, args, cell):
    return magics.client.datasources()


@command("list", "the project's tasks",
         arg("--folder", help="only the tasks of this folder (a path below the root folder)"),
         arg("--search", help="only the tasks whose name or description contains this"),
         arg("--project", help="another project than the client's"))
def _list(magics, args, cell):
    return magics.client.tasks(args.project, folder=args.folder, search=args.search)


@command("status", "a task: its draft, its versions and its latest instances", TASK)
def _status(magics, args, cell):
    client = magics.client
    task = client.task(args.task)
    return TaskStatus(task, client.versions(task.id), client.instances(task.id, limit=10))


@command("script", "save the cell (a JSON script) as the task's draft and show its diagnostics; "
         "as a line magic with --create, create the task and show its template",
         TASK,
         arg("--create", action="store_true", help="create the task first"),
         arg("--source", help="with --create: the data source to read"),
         arg("--target", help="with --create: the data source to write"),
         arg("--source-table", default="", help="with --create: the table read (fills the template's columns)"),
         arg("--target-table", default="", help="with --create: the table written"),
         arg("--folder", help="with --create: the folder (default: the root folder)"),
         arg("--schedule-type", choices=("recurring", "manual"), default="recurring", help="with --create"),
         arg("--description", default="", help="with --create"),
         cell=True)
def _script(magics, args, cell: str | None):
    client = magics.client
    if cell is None and not args.create:
        raise UsageError("script takes the cell's body: use %%pipeline script TASK, the JSON script below "
                         "(or %pipeline script TASK --create ... to start from a template)")
    if args.create:
        missing = [f"--{name}" for name in ("source", "target") if not getattr(args, name)]
        if missing:
            raise UsageError(f"--create needs {' and '.join(missing)}")
        task = client.create_task(args.task, source=args.source, target=args.target,
                                  source_table=args.source_table, target_table=args.target_table,
                                  folder=args.folder, schedule_type=args.schedule_type,
                                  description=args.description)
        if cell is None:
            return client.task(task.id)  # the template, to copy into a %%pipeline script cell
    task = client.save_script(args.task, cell)
    # the cell's first line is the magic's: the script's line 1 is the cell's line 2
    diagnostics = client.validate(cell, task.parameters, first_line=2, where="cell line")
    if diagnostics.errors:
        display(diagnostics)
        raise PipelineError(200, f"the draft of {args.task!r} is saved, with {len(diagnostics.errors)} "
                                  "error(s) to fix before it can be submitted (above)")
    return diagnostics


@command("validate", "every diagnostic of a task's draft script, or of a script file",
         arg("target", metavar="TASK|FILE", help="a task, or the path of a .json script"), PARAMS)
def _validate(magics, args, cell):
    client = magics.client
    if os.path.isfile(args.target):
        with open(args.target, encoding="utf-8") as file:
            return client.validate(file.read(), dict(args.params) or None)
    task = client.task(args.target)
    return client.validate(task.script or "", task.parameters | dict(args.params))


@command("submit", "run the checks and freeze the draft as a new version; show the checks and the lineage",
         TASK, arg("--remarks", required=True, help="what changed (required, at most 128 characters)"),
         arg("--confirm-warnings", action="store_true", help="submit past the checks' warnings"),
         arg("--publish", action="store_true", help="in a Dev-Prod project, publish it at once"))
def _submit(magics, args, cell):
    client = magics.client
    result = client.submit(args.task, args.remarks, confirm_warnings=args.confirm_warnings)
    if not result.ok:
        display(result)
        raise PipelineError(200, result.headline())
    if args.publish and result.status == "submitted":
        client.publish(args.task)
        result.status = "published"
    result.lineage = client.lineage(args.task)
    return result


@command("publish", "publish the pending version of each task into production",
         arg("tasks", metavar="TASK", nargs="+", help="tasks of one project"))
def _publish(magics, args, cell):
    return magics.client.publish(*args.tasks)


@command("run", "run the task's production version now, as a manual instance",
         TASK, PARAMS,
         arg("--bizdate", type=_bizdate, metavar="YYYYMMDD", help="the business date (default: yesterday)"),
         arg("--wait", action="store_true", help="show its progress until it ends"))
def _run(magics, args, cell):
    client = magics.client
    instance = client.run(args.task, bizdate=args.bizdate, params=dict(args.params))
    return _watch(client, instance) if args.wait else instance


@command("instances", "instances, newest first",
         arg("--task", help="of this task"),
         arg("--state", help="in these states (comma separated: failed,killed)"),
         arg("--kind", choices=("recurring", "manual", "backfill")),
         arg("--owner", help="of this user's tasks"),
         arg("--from", dest="start", type=_day, metavar="DATE", help="business dates from (YYYYMMDD or YYYY-MM-DD)"),
         arg("--to", dest="end", type=_day, metavar="DATE", help="business dates to"),
         arg("--limit", type=int, default=50))
def _instances(magics, args, cell):
    return magics.client.instances(args.task, state=args.state, kind=args.kind, owner=args.owner,
                                   start=args.start, end=args.end, limit=args.limit)


@command("log", "an instance's log", INSTANCE,
         arg("--tail", type=int, metavar="N", help="only its last N lines"),
         arg("--follow", action="store_true", help="keep printing it as it grows, until the instance ends"))
def _log(magics, args, cell):
    client = magics.client
    if not args.follow:
        return client.log(args.instance, tail=args.tail)
    start = 0
    if args.tail:
        chunk = client.log(args.instance, tail=args.tail)
        print(chunk.text, end="")
        start = chunk.offset
    try:
        for text in client.follow_log(args.instance, offset=start, poll=POLL_SECONDS):
            print(text, end="", flush=True)
    except KeyboardInterrupt:
        print(f"\n(stopped following the log of instance {args.instance})")
    return None


@command("rerun", "send a finished instance back to wait, and run it again", INSTANCE,
         arg("--force", action="store_true", help="without waiting for its upstream instances"),
         arg("--downstream", action="store_true", help="rerun the instances below it of the same date too"))
def _rerun(magics, args, cell):
    return magics.client.rerun(args.instance, force=args.force, downstream=args.downstream)


@command("kill", "stop a waiting or running instance", INSTANCE)
def _kill(magics, args, cell):
    return magics.client.kill(args.instance)


@command("backfill", "run the task (and its downstream tasks) for every business date of a range",
         TASK, arg("--from", dest="start", type=_day, required=True, metavar="DATE",
                  help="the first business date (YYYYMMDD or YYYY-MM-DD)"),
         arg("--to", dest="end", type=_day, required=True, metavar="DATE", help="the last business date"),
         arg("--downstream", action="store_true", help="also its downstream tasks, after it"),
         arg("--parallelism", type=int, default=1, help="business dates run at a time"))
def _backfill(magics, args, cell):
    return magics.client.backfill(args.task, args.start, args.end, downstream=args.downstream,
                                  parallelism=args.parallelism)


@command("lineage", "the lineage graph around a task's tables, or around DATASOURCE:TABLE",
         arg("target", metavar="TASK|DATASOURCE:TABLE"),
         arg("--direction", choices=("up", "down", "both"), default="both"),
         arg("--depth", type=int, help="table hops (default: as far as it goes)"))
def _lineage(magics, args, cell):
    datasource, colon, table = args.target.partition(":")
    if colon:
        return magics.client.lineage(datasource=datasource, table=table, direction=args.direction, depth=args.depth)
    return magics.client.lineage(args.target, direction=args.direction, depth=args.depth)


@command("schedule", "the task's schedule configuration as a form (ipywidgets): checks as you edit, "
         "previews the next runs, saves", TASK)
def _schedule(magics, args, cell):
    from .forms import schedule_form

    return schedule_form(args.task, magics.client)


@command("create", "the Create Offline Script dialog as a form (ipywidgets)",
         arg("--project", help="another project than the client's"))
def _create(magics, args, cell):
    from .forms import create_task_form

    return create_task_form(magics.client, project=args.project)


@command("datasource", "a data source form (ipywidgets): a new one, or NAME to edit; with Test connection",
         arg("name", nargs="?", metavar="NAME", help="the data source to edit (default: a new one)"),
         arg("--type", help="the new data source's type"))
def _datasource(magics, args, cell):
    from .forms import datasource_form

    return datasource_form(args.name, magics.client, type=args.type)


def _watch(client: PipelineClient, instance):
    """Poll the instance until it ends, redrawing one progress display: its state and,
    while it runs, the records and speed of the progress lines its log gets every few
    seconds. Interrupting stops the watching, not the run."""
    handle = display(Progress(instance), display_id=True)
    # progress lines from now on: a rerun's log holds its earlier attempts' too
    since, offset, counters = time.monotonic(), client.log(instance.id, tail=0).offset, None
    try:
        while True:
            instance = client.instance(instance.id)
            if instance.state == "running":
                chunk = client.log(instance.id, offset=offset)
                offset, counters = chunk.offset, progress_from_log(chunk.text) or counters
            handle.update(Progress(instance, counters, since))
            if instance.finished:
                break
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        print(f"stopped watching: instance {instance.id} is {instance.state} "
              f"(%pipeline kill {instance.id} stops it)")
        return instance
    if instance.state not in ("success", "dry_run"):
        display(instance)
        raise PipelineError(200, f"instance {instance.id} of {instance.task_name} {instance.state}"
                                  + (f": {instance.error}" if instance.error else ""))
    return instance


# --- argparse, as IPython wants it ----------------------------------------------------------


class _HelpShown(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """Errors become IPython usage errors (no traceback); ``--help`` prints and returns."""

    def error(self, message: str):
        raise UsageError(f"{self.format_usage().strip()}\n{self.prog}: {message}")

    def exit(self, status: int = 0, message: str | None = None):
        if status:
            raise UsageError(message or f"{self.prog} failed")
        raise _HelpShown


class CommandLine:
    """``%pipeline COMMAND ...`` parsed by the command's own parser, so that its usage is
    the one a mistake shows."""

    def __init__(self):
        self.parser = _Parser(prog="%pipeline", description="Offline pipeline tasks from a notebook. "
                              "`%pipeline COMMAND --help` tells more.")
        commands = self.parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
        self.commands: dict[str, argparse.ArgumentParser] = {}
        for name, spec in COMMANDS.items():
            self.commands[name] = sub = commands.add_parser(name, help=spec.help, description=spec.help)
            for flags, options in spec.arguments:
                sub.add_argument(*flags, **options)

    def parse(self, line: str) -> argparse.Namespace:
        try:
            words = shlex.split(line)
        except ValueError as error:  # an unclosed quote
            raise UsageError(f"%pipeline: {error}") from None
        args, extra = self.parser.parse_known_args(words)
        if extra:
            (self.commands.get(args.command) or self.parser).error(f"unrecognized arguments: {' '.join(extra)}")
        return args


@magics_class
class PipelineMagics(Magics):
    def __init__(self, shell=None):
        super().__init__(shell)
        self.command_line = CommandLine()
        self._client: PipelineClient | None = None

    @property
    def client(self) -> PipelineClient:
        """The server this kernel runs under, found on first use."""
        if self._client is None:
            self._client = PipelineClient()
        return self._client

    @client.setter
    def client(self, client: PipelineClient) -> None:
        self._client = client

    @line_cell_magic
    def pipeline(self, line: str, cell: str | None = None) -> Any:
        """Offline pipeline tasks: `%pipeline --help` lists the commands."""
        try:
            args = self.command_line.parse(line)
        except _HelpShown:
            return None
        if args.command is None:
            self.command_line.parser.print_help()
            return None
        spec = COMMANDS[args.command]
        if not spec.cell and cell is not None and cell.strip():
            raise UsageError(f"{args.command} is a line magic: use %pipeline {args.command} ...")
        try:
            return spec.run(self, args, cell)
        except PipelineError as error:
            if error.status is None:
                self._client = None  # no server answered: find one again next time
            raise


def load_ipython_extension(ipython) -> None:
    ipython.register_magics(PipelineMagics)
