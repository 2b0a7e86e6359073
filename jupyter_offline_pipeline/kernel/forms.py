"""ipywidgets forms for a notebook: the schedule configuration, the Create Offline Script
dialog and the data source form, each talking to the server through ``PipelineClient``.

    from jupyter_offline_pipeline import schedule_form, create_task_form, datasource_form

    form = schedule_form("orders_daily")     # shows itself as the cell's result
    form.set("schedule.cycle", {"type": "day", "time": "02:00"})
    form.errors, form.runs                   # field messages; the next ten runs
    form.save()                              # the saved ScheduleConfig, or None (see .errors)

The forms are generated from JSON Schema by the small generator below (``SchemaForm``):
the schedule form from ``GET /pipeline/api/schemas/schedule``, the schema the JupyterLab
panel renders, and a data source's connection fields from ``GET /datasource-types``. It
handles what those schemas hold and two general libraries did not: ``$defs`` and ``$ref``,
a discriminated union (``schedule.cycle``: a dropdown of cycle types, each with its own
fields), ``anyOf`` with null (an empty input, or a "none" choice), patterns and formats
(checked by the validator), ``writeOnly``/``format: password`` (a masked input), lists of
numbers (typed as "1, 3, 5") and lists of objects (rows with Add and Remove).

Every form validates as the user edits and shows each message next to its field: the
schedule through the server's own pydantic ``ScheduleConfig`` (the same messages the server
answers with), connection fields through ``jsonschema``; what only the server can check
(a recurring task needs a cycle, a taken name, a permission) comes back from Save as field
issues and is shown on those fields the same way. Every form also has a programmatic API
(``set``, ``get``, ``value``, ``errors``, ``save()``, the widgets in ``fields``) so that a
test, or a notebook, can drive it without clicking.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from html import escape, unescape
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import ipywidgets as W
from pydantic import ValidationError

from ..service.schedule import ScheduleConfig, schedule_issues
from .client import PipelineClient, TaskRef
from .display import STYLE, ConnectionTest, DataSource, RunPreview, Task, describe_schedule
from .errors import PipelineError

PREVIEW_COUNT = 10
LABEL_WIDTH = "150px"
INPUT_WIDTH = "260px"
ERROR_COLOR = "#c62828"
OK_COLOR = "#2e7d32"
NONE = "none"


class FormError(ValueError):
    """A value a form cannot take (programmatic ``set`` of an unknown field or choice)."""


# --- small widget helpers -------------------------------------------------------------------


def _message_widget() -> W.HTML:
    return W.HTML("", layout=W.Layout(margin="0 0 0 8px", flex="1 1 auto"))


def _show_message(widget: W.HTML, messages: list[str]) -> None:
    widget.value = "".join(f'<div style="color:{ERROR_COLOR};font-size:12px;line-height:16px">'
                           f"⚠ {escape(m, quote=False)}</div>" for m in messages)


def _shown_text(widget: W.HTML) -> str:
    """The words a message widget shows."""
    return unescape(re.sub(r"<[^>]+>", " ", widget.value)).replace("⚠", "").strip()


def _label(title: str, description: str = "", required: bool = False) -> W.HTML:
    star = f'<span style="color:{ERROR_COLOR}">*</span> ' if required else ""
    return W.HTML(f'<span title="{escape(description)}">{star}{escape(title)}</span>',
                  layout=W.Layout(width=LABEL_WIDTH, min_width=LABEL_WIDTH))


def _row(label: W.Widget, control: W.Widget, message: W.HTML, field: str = "") -> W.HBox:
    """A field's line: its label, its input, its message; classed ``jop-field`` and
    ``jop-field-<path with - for .>`` for styles and UI tests."""
    control.layout.flex = "0 0 auto"  # a long message wraps; the input keeps its width
    row = W.HBox([label, control, message], layout=W.Layout(align_items="flex-start", margin="1px 0"))
    message.add_class("jop-message")
    if field:
        row.add_class("jop-field")
        row.add_class("jop-field-" + re.sub(r"[^A-Za-z0-9_-]", "-", field))
    return row


def _status(text: str, ok: bool | None = None) -> str:
    color = {True: OK_COLOR, False: ERROR_COLOR, None: "#616161"}[ok]
    return f'<span style="color:{color}">{escape(text)}</span>'


def _section_title(text: str) -> W.HTML:
    return W.HTML(f"<b>{escape(text)}</b>", layout=W.Layout(margin="6px 0 2px 0"))


def _humanize(name: str) -> str:
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(path)


# --- the schema walker ---------------------------------------------------------------------


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> dict[str, Any]:
    """``schema`` with its ``$ref`` (into the root's ``$defs``) followed; the referring
    schema's own keys (description, default) win over the target's."""
    schema = dict(schema)
    seen = set()
    while "$ref" in schema:
        ref = schema.pop("$ref")
        if not ref.startswith("#/") or ref in seen:
            raise FormError(f"cannot follow the reference {ref!r}")
        seen.add(ref)
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        schema = {**target, **schema}
    return schema


class Node:
    """One part of a generated form, at a dotted ``path`` of the value."""

    def __init__(self, path: tuple[str, ...], schema: dict[str, Any], form: SchemaForm):
        self.path, self.schema, self.form = path, schema, form
        self.title = schema.get("title") or _humanize(path[-1] if path else "")
        self.description = schema.get("description", "")
        self.message = _message_widget()

    box: W.Widget

    def read(self, problems: dict[str, list[str]]) -> Any:
        raise NotImplementedError

    def write(self, value: Any) -> None:
        raise NotImplementedError

    def find(self, parts: list[str]) -> Node | None:
        return self if not parts else None

    def walk(self, every: bool = False) -> Iterator[Node]:
        """This node and those below it: those shown (``every``: also hidden variants)."""
        yield self

    def show(self, messages: list[str]) -> None:
        _show_message(self.message, messages)


LISTS = ("ints", "numbers", "words")


class Leaf(Node):
    """One input: text, a masked password, a number, a checkbox, a choice, a date, or a
    list of numbers or words typed with commas."""

    def __init__(self, path, schema, form, *, nullable: bool = False, required: bool = False):
        super().__init__(path, schema, form)
        self.nullable, self.required = nullable, required
        self.kind = self._kind(schema)
        self.control = self._control()
        self.control.layout.width = INPUT_WIDTH
        if self.kind != "bool":
            self.control.style.description_width = "0px"
        self.box = _row(_label(self.title, self.description, required), self.control, self.message,
                        _dotted(path))
        self.control.observe(lambda change: form.changed(self), names="value")
        if "default" in schema:
            self.write(schema["default"])
        elif self.kind in ("int", "float") and "minimum" in schema:
            self.write(schema["minimum"])  # a required number starts where it may

    @property
    def widget(self) -> W.Widget:
        return self.control

    def _kind(self, schema: dict[str, Any]) -> str:
        kind = schema.get("type")
        if isinstance(kind, list):  # ["integer", "null"]
            self.nullable = self.nullable or "null" in kind
            kind = next((k for k in kind if k != "null"), "string")
        if "enum" in schema:
            return "enum"
        if kind == "array":
            items = _resolve(schema.get("items", {}), self.form.schema)
            return {"integer": "ints", "number": "numbers"}.get(items.get("type"), "words")
        if kind == "integer":
            return "int?" if self.nullable else "int"
        if kind == "number":
            return "float?" if self.nullable else "float"
        if kind == "boolean":
            return "bool"
        if schema.get("format") == "password" or schema.get("writeOnly"):
            return "password"
        if schema.get("format") == "date":
            return "date"
        if schema.get("maxLength", 0) > 256:
            return "textarea"
        return "text"

    def _control(self) -> W.Widget:
        kind, schema = self.kind, self.schema
        override = self.form.overrides.get(_dotted(self.path))
        if override is not None:
            return override()
        placeholder = schema.get("examples", [""])[0] if schema.get("examples") else ""
        if kind == "enum":
            options = [(str(v), v) for v in schema["enum"]]
            return W.Dropdown(options=[("—", None)] + options if self.nullable else options)
        if kind == "int":
            return W.IntText()
        if kind == "float":
            return W.FloatText()
        if kind == "bool":
            return W.Checkbox(indent=False)
        if kind == "password":
            return W.Password(placeholder=placeholder)
        if kind == "textarea":
            return W.Textarea(rows=2, continuous_update=False)
        if kind in LISTS:
            placeholder = "comma separated, e.g. 1, 3, 5" if kind != "words" else "comma separated"
        elif kind == "date":
            placeholder = "YYYY-MM-DD"
        elif kind in ("int?", "float?"):
            placeholder = "empty: none"
        return W.Text(placeholder=placeholder, continuous_update=False)

    def read(self, problems: dict[str, list[str]]) -> Any:
        value = self.control.value
        if self.kind in ("int?", "float?"):
            text = str(value).strip()
            if not text:
                return None
            try:
                return int(text) if self.kind == "int?" else float(text)
            except ValueError:
                problems.setdefault(_dotted(self.path), []).append(
                    f"{text!r} is not a {'whole number' if self.kind == 'int?' else 'number'}")
                return text
        if self.kind in LISTS:
            words = [w.strip() for w in str(value).split(",") if w.strip()]
            if not words:
                return None if self.nullable else []
            if self.kind == "words":
                return words
            numbers = []
            for word in words:
                try:
                    numbers.append(int(word) if self.kind == "ints" else float(word))
                except ValueError:
                    problems.setdefault(_dotted(self.path), []).append(
                        f"{word!r} is not a {'whole number' if self.kind == 'ints' else 'number'}")
            return numbers
        if self.kind in ("text", "textarea", "password", "date") and self.nullable and value == "":
            return None
        return value

    def write(self, value: Any) -> None:
        if self.kind in LISTS:  # a list, or the text as typed
            value = "" if value is None else value if isinstance(value, str) else ", ".join(str(v) for v in value)
        elif self.kind in ("int?", "float?"):
            value = "" if value is None else str(value)
        elif self.kind in ("text", "textarea", "password", "date"):
            value = "" if value is None else str(value)
        elif self.kind == "enum" and value not in [v for _, v in self.control.options]:
            raise FormError(f"{_dotted(self.path)}: {value!r} is not one of "
                            f"{', '.join(repr(v) for _, v in self.control.options)}")
        elif self.kind == "int" and not (isinstance(value, int) and not isinstance(value, bool)):
            raise FormError(f"{_dotted(self.path)}: {value!r} is not a whole number")
        elif self.kind == "float" and not isinstance(value, (int, float)):
            raise FormError(f"{_dotted(self.path)}: {value!r} is not a number")
        self.control.value = value


class Const(Node):
    """A constant (a union variant's tag): no input, always its value."""

    def __init__(self, path, schema, form):
        super().__init__(path, schema, form)
        self.box = W.VBox([])

    def read(self, problems):
        return self.schema["const"]

    def write(self, value):
        if value != self.schema["const"]:
            raise FormError(f"{_dotted(self.path)} is always {self.schema['const']!r}")


class ObjectNode(Node):
    """An object's properties, in the schema's order; a nested object under its title."""

    def __init__(self, path, schema, form, *, heading: bool = True):
        super().__init__(path, schema, form)
        required = set(schema.get("required", ()))
        self.children: dict[str, Node] = {
            name: form.build(sub, path + (name,), required=name in required)
            for name, sub in schema.get("properties", {}).items()}
        heading = heading and len(path) > 1  # a first-level object is a section (a tab) of its own
        parts: list[W.Widget] = [_section_title(self.title)] if heading else []
        parts += [self.message] + [c.box for c in self.children.values()]
        self.box = W.VBox(parts, layout=W.Layout(margin="0 0 0 12px" if heading else "0"))

    def read(self, problems):
        return {name: child.read(problems) for name, child in self.children.items()}

    def write(self, value):
        if not isinstance(value, Mapping):
            raise FormError(f"{_dotted(self.path) or 'the form'} takes an object, not {value!r}")
        for name, item in value.items():
            if name not in self.children:
                raise FormError(f"{_dotted(self.path + (name,))} is not a field of this form")
            self.children[name].write(item)

    def find(self, parts):
        if not parts:
            return self
        child = self.children.get(parts[0])
        return child.find(parts[1:]) if child else None

    def walk(self, every=False):
        yield self
        for child in self.children.values():
            yield from child.walk(every)


class UnionNode(Node):
    """A discriminated union (``oneOf`` with a ``discriminator``, or variants told apart by a
    ``const`` property), optionally nullable: a dropdown of the variants' tags ("none" for
    null) above the chosen variant's fields. Each variant keeps its values while another
    is shown; all share the union's path, as the server's field issues name them."""

    def __init__(self, path, schema, form, variants: list[dict[str, Any]], *, nullable: bool):
        super().__init__(path, schema, form)
        self.tag = (schema.get("discriminator") or {}).get("propertyName") or _common_const(variants)
        if not self.tag:
            raise FormError(f"{_dotted(path)}: a union without a discriminator is not supported")
        self.variants: dict[str, ObjectNode] = {}
        for variant in variants:
            tag = variant["properties"][self.tag]["const"]
            self.variants[tag] = ObjectNode(path, {**variant, "title": self.title}, form, heading=False)
        options = ([(f"{NONE}", None)] if nullable else []) + [(tag, tag) for tag in self.variants]
        self.selector = W.Dropdown(options=options, layout=W.Layout(width=INPUT_WIDTH))
        self.selector.style.description_width = "0px"
        self.hint = W.HTML("", layout=W.Layout(margin="0 0 0 8px"))
        self.body = W.VBox([])
        header = _row(_label(self.title, self.description), self.selector, self.hint, _dotted(path))
        self.box = W.VBox([header, self.message, self.body])
        self.selector.observe(self._switched, names="value")
        self._switched()

    @property
    def widget(self) -> W.Dropdown:
        return self.selector

    @property
    def active(self) -> ObjectNode | None:
        return self.variants.get(self.selector.value) if self.selector.value is not None else None

    def _switched(self, change=None) -> None:
        active = self.active
        self.body.children = [active.box] if active else []
        description = active.description if active else self.description
        self.hint.value = f'<span style="color:#757575;font-size:12px">{escape(description)}</span>'
        if change is not None:
            self.form.changed(self)

    def read(self, problems):
        active = self.active
        return None if active is None else active.read(problems)

    def write(self, value):
        if value is None:
            if None not in [v for _, v in self.selector.options]:
                raise FormError(f"{_dotted(self.path)} cannot be none")
            self.selector.value = None
            return
        if not isinstance(value, Mapping) or value.get(self.tag) not in self.variants:
            raise FormError(f"{_dotted(self.path)}: give a {self.tag}, one of {', '.join(self.variants)}")
        self.selector.value = value[self.tag]
        self.variants[value[self.tag]].write(value)

    def find(self, parts):
        if not parts:
            return self
        active = self.active
        return active.find(parts) if active else None

    def walk(self, every=False):
        yield self
        for variant in (self.variants.values() if every else [self.active] if self.active else []):
            for node in variant.walk(every):
                if node is not variant:  # the variant shares the union's path and message
                    yield node


def _common_const(variants: list[dict[str, Any]]) -> str | None:
    names = None
    for variant in variants:
        consts = {n for n, p in variant.get("properties", {}).items() if "const" in p}
        names = consts if names is None else names & consts
    return sorted(names)[0] if names else None


class ListNode(Node):
    """A list of objects: one block of fields per item, each with Remove, and Add."""

    def __init__(self, path, schema, form):
        super().__init__(path, schema, form)
        self.item_schema = _resolve(schema.get("items", {}), form.schema)
        self.noun = (self.item_schema.get("title") or "item").lower()
        self.rows: list[ObjectNode] = []
        self.add_button = W.Button(description=f"Add {self.noun}", icon="plus",
                                   layout=W.Layout(width="auto"))
        self.add_button.on_click(lambda _: self.add())
        self.items = W.VBox([])
        self.box = W.VBox([W.HTML(f'<span style="color:#757575;font-size:12px">{escape(self.description)}</span>'),
                           self.message, self.items, self.add_button])

    def _layout(self) -> None:
        blocks = []
        for index, row in enumerate(self.rows):
            remove = W.Button(description="Remove", icon="trash", layout=W.Layout(width="auto"))
            remove.on_click(lambda _, i=index: self.remove(i))
            blocks.append(W.VBox([W.HBox([_section_title(f"{self.item_schema.get('title', 'Item')} {index + 1}"),
                                          remove]), row.box],
                                 layout=W.Layout(border="1px solid #e0e0e0", padding="2px 6px", margin="2px 0")))
        self.items.children = blocks

    def _new_row(self, index: int) -> ObjectNode:
        return ObjectNode(self.path + (str(index),), self.item_schema, self.form, heading=False)

    def add(self, value: Mapping[str, Any] | None = None) -> ObjectNode:
        with self.form.quiet():
            row = self._new_row(len(self.rows))
            if value:
                row.write(value)
            self.rows.append(row)
            self._layout()
        self.form.changed(self)
        return row

    def remove(self, index: int) -> None:
        values = [r.read({}) for r in self.rows]
        del values[index]
        self.write(values)
        self.form.changed(self)

    def read(self, problems):
        return [row.read(problems) for row in self.rows]

    def write(self, value):
        with self.form.quiet():
            self.rows = []
            for index, item in enumerate(value or []):
                row = self._new_row(index)
                row.write(item)
                self.rows.append(row)
            self._layout()

    def find(self, parts):
        if not parts:
            return self
        if parts[0].isdigit() and int(parts[0]) < len(self.rows):
            return self.rows[int(parts[0])].find(parts[1:])
        return None

    def walk(self, every=False):
        yield self
        for row in self.rows:
            yield from row.walk(every)


# --- the generic form ----------------------------------------------------------------------

Validator = Callable[[Any], dict[str, list[str]]]


class SchemaForm:
    """The widgets of a JSON Schema, with a message beside every field.

    ``validator(value)`` names the problems of a value by dotted path (default: the
    schema's own ``jsonschema`` errors); ``overrides`` replace the input of a path with
    another widget (a text input's widget: ``value`` is its text); ``on_change`` is told
    of every edit after the form has validated it."""

    def __init__(self, schema: dict[str, Any], value: Any = None, *, validator: Validator | None = None,
                 overrides: Mapping[str, Callable[[], W.Widget]] | None = None,
                 on_change: Callable[[SchemaForm], None] | None = None):
        self.schema = schema
        self.overrides = dict(overrides or {})
        self.validator = validator or json_schema_validator(schema)
        self.on_change = on_change
        self._quiet = 0
        self._client_errors: dict[str, list[str]] = {}
        self._server_errors: dict[str, list[str]] = {}
        with self.quiet():
            self.root = self.build(schema, ())
            if value is not None:
                self.root.write(value)
        self.validate()

    # building

    def build(self, schema: Mapping[str, Any], path: tuple[str, ...], *, required: bool = False,
              nullable: bool = False) -> Node:
        schema = _resolve(schema, self.schema)
        if "anyOf" in schema or ("oneOf" in schema and "discriminator" not in schema):
            options = [_resolve(o, self.schema) for o in schema.get("anyOf") or schema["oneOf"]]
            rest = [o for o in options if o.get("type") != "null"]
            outer = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
            nullable = nullable or len(rest) < len(options)
            if len(rest) == 1:
                return self.build({**rest[0], **outer}, path, required=required, nullable=nullable)
            return UnionNode(path, outer, self, rest, nullable=nullable)
        if "oneOf" in schema:
            variants = [_resolve(o, self.schema) for o in schema["oneOf"]]
            return UnionNode(path, schema, self, variants, nullable=nullable)
        if "const" in schema:
            return Const(path, schema, self)
        if schema.get("type") == "object" or "properties" in schema:
            return ObjectNode(path, schema, self)
        if schema.get("type") == "array" and _resolve(schema.get("items", {}), self.schema).get("type") == "object":
            return ListNode(path, schema, self)
        return Leaf(path, schema, self, nullable=nullable, required=required)

    # the value

    def read(self) -> tuple[Any, dict[str, list[str]]]:
        """The value the inputs hold, and what could not be read (a word in a number)."""
        problems: dict[str, list[str]] = {}
        return self.root.read(problems), problems

    @property
    def value(self) -> Any:
        return self.read()[0]

    @value.setter
    def value(self, value: Any) -> None:
        with self.quiet():
            self.root.write(value)
        self._server_errors = {}
        self.changed(self.root)

    def node(self, path: str) -> Node:
        node = self.root.find([p for p in path.split(".") if p])
        if node is None:
            raise FormError(f"{path!r} is not a field of this form (fields: {', '.join(self.fields)})")
        return node

    def get(self, path: str) -> Any:
        return self.node(path).read({})

    def set(self, path: str, value: Any) -> None:
        with self.quiet():
            self.node(path).write(value)
        self._server_errors.pop(path, None)
        self.changed(self.node(path))

    @property
    def fields(self) -> dict[str, W.Widget]:
        """The inputs shown, by dotted path (a union's is its dropdown)."""
        return {_dotted(n.path): n.widget for n in self.root.walk() if isinstance(n, (Leaf, UnionNode))}

    # validation

    @contextlib.contextmanager
    def quiet(self) -> Iterator[None]:
        """Edits made inside do not validate one by one."""
        self._quiet += 1
        try:
            yield
        finally:
            self._quiet -= 1

    def changed(self, node: Node | None = None) -> None:
        if self._quiet:
            return
        if node is not None:  # the user changed it: the server's word on it is stale
            for path in [p for p in self._server_errors if p.startswith(_dotted(node.path))]:
                del self._server_errors[path]
        self.validate()
        if self.on_change is not None:
            self.on_change(self)

    def validate(self) -> dict[str, list[str]]:
        value, problems = self.read()
        found = {} if problems else self.validator(value)
        self._client_errors = {**found, **problems}
        self.show()
        return self.errors

    def set_server_issues(self, issues: list[tuple[str, str]]) -> None:
        self._server_errors = {}
        for path, message in issues:
            self._server_errors.setdefault(path, []).append(message)
        self.show()

    @property
    def errors(self) -> dict[str, list[str]]:
        """Every message shown, by the dotted path of its field (the client's checks and
        the server's last answer)."""
        merged = {k: list(v) for k, v in self._client_errors.items()}
        for path, messages in self._server_errors.items():
            merged.setdefault(path, []).extend(m for m in messages if m not in merged[path])
        return merged

    def _shown_node(self, path: str) -> Node:
        parts = [p for p in path.split(".") if p]
        while (node := self.root.find(parts)) is None:
            parts = parts[:-1]
        return node

    def message(self, path: str) -> str:
        """The message shown beside the field at ``path`` (or the closest one above it
        that is shown); "" when there is none."""
        return _shown_text(self._shown_node(path).message)

    def placed(self) -> dict[int, list[str]]:
        """Each message on the closest field shown for its path (a variant's hidden field,
        or a path with no input of its own, such as a model's rule, goes up to its parent)."""
        shown: dict[int, list[str]] = {}
        for path, messages in self.errors.items():
            shown.setdefault(id(self._shown_node(path)), []).extend(messages)
        return shown

    def show(self) -> None:
        placed = self.placed()
        for node in self.root.walk(every=True):
            node.show(placed.get(id(node), []))


def json_schema_validator(schema: dict[str, Any]) -> Validator:
    """Problems by dotted path, from ``jsonschema`` (a missing property on its own field)."""
    import jsonschema  # here: its import takes a second or more (its format checkers' grammars)

    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)

    def validate(value: Any) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for error in validator.iter_errors(value):
            path = [str(p) for p in error.absolute_path]
            if error.validator == "required" and isinstance(error.instance, dict):
                for name in error.validator_value:
                    if name not in error.instance:
                        _add(found, _dotted(tuple(path + [name])), "is required")
                continue
            _add(found, _dotted(tuple(path)), _json_schema_message(error))
        return found

    return validate


def _add(found: dict[str, list[str]], path: str, message: str) -> None:
    messages = found.setdefault(path, [])
    if message not in messages:
        messages.append(message)


def _json_schema_message(error) -> str:
    kind, bound = error.validator, error.validator_value
    if kind == "minimum":
        return f"must be at least {bound}"
    if kind == "maximum":
        return f"must be at most {bound}"
    if kind == "minLength" and bound == 1:
        return "is required"
    if kind == "maxLength":
        return f"must be at most {bound} characters"
    if kind == "pattern":
        return f"{error.instance!r} does not match {bound}"
    return error.message


def pydantic_validator(model: type) -> Validator:
    """Problems by dotted path from the schedule's pydantic model: the messages (and the
    field paths, a cycle's tag left out) the server answers with."""

    def validate(value: Any) -> dict[str, list[str]]:
        try:
            model.model_validate(value)
        except ValidationError as error:
            found: dict[str, list[str]] = {}
            for issue in schedule_issues(error):
                found.setdefault(issue.field, []).append(issue.message)
            return found
        return {}

    return validate


def _issues(error: PipelineError, rename: Callable[[str], str] = lambda f: f) -> list[tuple[str, str]]:
    return [(rename(i.field), i.message) for i in error.issues]


def _default_client(client: PipelineClient | None) -> PipelineClient:
    """The client given; else the ``%pipeline`` magics' (so ``%pipeline connect`` counts);
    else the server this kernel runs under."""
    if client is not None:
        return client
    try:
        from IPython import get_ipython

        shell = get_ipython()
        magics = shell.magics_manager.registry.get("PipelineMagics") if shell else None
        if magics is not None:
            return magics.client
    except ImportError:
        pass
    return PipelineClient()


class _Shown:
    """A form shown as its widget in a notebook, as text in a terminal, and as static HTML
    where widgets do not render (a notebook viewer without the widget state)."""

    widget: W.Widget

    def _text(self) -> str:
        raise NotImplementedError

    def _html(self) -> str:
        return f"<pre>{escape(self._text())}</pre>"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = self._text()
        bundle["text/html"] = f'<div class="jop">{STYLE}{self._html()}</div>'
        return bundle

    def __repr__(self) -> str:
        return self._text()


def _errors_text(errors: Mapping[str, list[str]]) -> list[str]:
    return [f"  ⚠ {path or 'form'}: {m}" for path, messages in errors.items() for m in messages]


# --- the schedule form -----------------------------------------------------------------------

SECTION_TITLES = {"basic": "Basic information", "schedule": "Schedule", "dependency": "Dependency",
                  "parameters": "Parameters", "run": "Run configuration"}


class ScheduleForm(_Shown):
    """A task's schedule configuration (SPEC section 6) as a form: the sections in tabs,
    messages beside the fields as they are edited, the next ten runs with their business
    dates beside them, and Save."""

    def __init__(self, task: TaskRef | Task, client: PipelineClient | None = None, *, auto_preview: bool = True):
        self.client = _default_client(client)
        self.task: Task = task if isinstance(task, Task) else self.client.task(task)
        if self.task.schedule is None or self.task.script is None:
            self.task = self.client.task(self.task.id)
        self.schema = self.client.schedule_schema()
        self.auto_preview = auto_preview
        self.runs: RunPreview | None = None
        self.saved: ScheduleConfig | None = None
        self.preview_error: str | None = None
        self._previewed: Any = object()
        self.status = W.HTML("")
        self.preview_box = W.HTML("", layout=W.Layout(width="330px", margin="0 0 0 16px"))
        self.form = SchemaForm(self.schema, (self.task.schedule or ScheduleConfig()).model_dump(mode="json"),
                               validator=pydantic_validator(ScheduleConfig), on_change=self._changed,
                               overrides={"schedule.timezone": _timezone_input})
        sections = self.form.root.children
        self.tabs = W.Tab(children=[sections[name].box for name in sections],
                          layout=W.Layout(width="auto", flex="1 1 auto"))
        self._titles()
        self.tabs.selected_index = list(sections).index("schedule") if "schedule" in sections else 0
        self.save_button = W.Button(description="Save", button_style="primary", icon="save")
        self.save_button.on_click(lambda _: self.save())
        self.preview_button = W.Button(description="Preview", icon="calendar")
        self.preview_button.on_click(lambda _: self.preview())
        heading = W.HTML(f"<h4 style='margin:4px 0'>Schedule configuration of {escape(self.task.name)} "
                         f"<span style='color:#757575;font-weight:normal'>(task {self.task.id}, "
                         f"{escape(self.task.schedule_type)})</span></h4>")
        self.widget = W.VBox([heading, W.HBox([self.tabs, self.preview_box], layout=W.Layout(align_items="flex-start")),
                              W.HBox([self.save_button, self.preview_button, self.status],
                                     layout=W.Layout(align_items="center"))],
                             layout=W.Layout(width="100%"))
        self._changed(self.form)

    # the programmatic API

    @property
    def fields(self) -> dict[str, W.Widget]:
        return self.form.fields

    @property
    def value(self) -> dict[str, Any]:
        return self.form.value

    @property
    def config(self) -> ScheduleConfig | None:
        """The configuration the form holds, when it is valid."""
        try:
            return ScheduleConfig.model_validate(self.form.value)
        except ValidationError:
            return None

    @property
    def errors(self) -> dict[str, list[str]]:
        return self.form.errors

    def get(self, path: str) -> Any:
        return self.form.get(path)

    def message(self, path: str) -> str:
        """The message shown beside a field ("" when none)."""
        return self.form.message(path)

    def set(self, path: str, value: Any) -> ScheduleForm:
        """Change a field (``"schedule.cycle.time"``), or a whole part (``"schedule.cycle"``,
        ``{"type": "week", "weekdays": [1, 5]}``), as typing it would."""
        self.form.set(path, value)
        return self

    def update(self, values: Mapping[str, Any]) -> ScheduleForm:
        """Several fields at once, by dotted path, validated once."""
        with self.form.quiet():
            for path, value in values.items():
                self.form.set(path, value)
        self.form.changed(self.form.root)
        return self

    def preview(self) -> RunPreview | None:
        """The next ten runs of the configuration as it stands (None while it has errors)."""
        self._previewed = object()
        self._refresh_preview(force=True)
        return self.runs

    def save(self) -> ScheduleConfig | None:
        """Store the draft configuration; None when a field is at fault (``errors``)."""
        errors = self.form.validate()
        self._titles()
        if errors:
            self.status.value = _status(f"not saved: {_count(errors)} to fix (marked ⚠)", False)
            return None
        try:
            saved = self.client.save_schedule(self.task.id, self.form.value)
        except PipelineError as error:
            self.form.set_server_issues(_issues(error))
            self._titles()
            self.status.value = _status(f"not saved: {error.message}", False)
            return None
        self.saved = saved
        self.form.value = saved.model_dump(mode="json")
        self.status.value = _status(f"saved at {datetime.now():%H:%M:%S}: {describe_schedule(saved)}", True)
        return saved

    # inside

    def _changed(self, form: SchemaForm) -> None:
        self._titles()
        if self.status.value and not self.form.errors:
            self.status.value = ""
        if self.auto_preview:
            self._refresh_preview()
        else:
            self._render_preview()

    def _titles(self) -> None:
        placed_on = {p.split(".")[0] for p in self.form.errors}
        names = list(self.form.root.children)
        self.tabs.titles = tuple(SECTION_TITLES.get(n, _humanize(n)) + (" ⚠" if n in placed_on else "")
                                 for n in names)

    def _refresh_preview(self, force: bool = False) -> None:
        if self.form.errors:
            self.runs = None
            self._render_preview()
            return
        value = self.form.value
        if value == self._previewed and not force:
            return
        self._previewed = value
        try:
            self.runs = self.client.preview_schedule(value, PREVIEW_COUNT)
            self.preview_error = None
        except PipelineError as error:
            self.runs, self.preview_error = None, error.message
            if error.issues:
                self.form.set_server_issues(_issues(error))
        self._render_preview()

    def _render_preview(self) -> None:
        title = f"<b>Next {PREVIEW_COUNT} runs</b>"
        if self.form.errors:
            body = f"<p style='color:{ERROR_COLOR}'>Fix the fields marked ⚠ to see the next runs.</p>"
        elif self.preview_error:
            body = f"<p style='color:{ERROR_COLOR}'>{escape(self.preview_error)}</p>"
        elif self.runs is None:
            body = "<p style='color:#757575'>Preview shows the next runs.</p>"
        elif not self.runs:
            body = f"<p style='color:#757575'>{escape(RunPreview.empty)}</p>"
        else:
            zone = _zone(self.form.get("schedule.timezone"))
            rows = "".join(
                f"<tr><td style='padding:1px 8px 1px 0'>{r.scheduled_time.astimezone(zone):%Y-%m-%d %a %H:%M}</td>"
                f"<td style='padding:1px 0'>{r.business_date:%Y%m%d}</td></tr>" for r in self.runs)
            body = (f"<table style='font-size:12px;border-collapse:collapse'><tr>"
                    f"<th style='text-align:left;padding-right:8px'>scheduled ({escape(str(zone))})</th>"
                    f"<th style='text-align:left'>business date</th></tr>{rows}</table>")
        self.preview_box.value = f"{title}{body}"

    def _text(self) -> str:
        config = self.config
        lines = [f"Schedule configuration of {self.task.name} (task {self.task.id}): "
                 + (describe_schedule(config) if config else "with errors")]
        lines += _errors_text(self.errors)
        if self.runs:
            lines.append("next runs (business date):")
            zone = _zone(self.form.get("schedule.timezone"))
            lines += [f"  {r.scheduled_time.astimezone(zone):%Y-%m-%d %a %H:%M}  ({r.business_date:%Y%m%d})"
                      for r in self.runs]
        return "\n".join(lines)

    def _html(self) -> str:
        """A still picture of the form: its values by section, the messages, the preview."""
        value, _ = self.form.read()
        sections = "".join(
            f"<tr><th>{escape(SECTION_TITLES.get(name, name))}</th><td>{escape(_flat_text(part))}</td></tr>"
            for name, part in value.items())
        errors = "".join(f"<li style='color:{ERROR_COLOR}'>{escape(path)}: {escape(m)}</li>"
                         for path, messages in self.errors.items() for m in messages)
        return (f"<p>{escape(self._text().splitlines()[0])}</p>"
                f"<div style='display:flex;gap:24px;align-items:flex-start'><table>{sections}</table>"
                f"<div>{self.preview_box.value}</div></div>" + (f"<ul>{errors}</ul>" if errors else ""))


def _flat_text(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_flat_text(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "[" + "; ".join(_flat_text(v) for v in value) + "]"
    return "none" if value is None else str(value)


def _count(errors: Mapping[str, list[str]]) -> str:
    return f"{len(errors)} field{'s' if len(errors) != 1 else ''}"


def _zone(name: Any) -> ZoneInfo:
    try:
        return ZoneInfo(str(name))
    except Exception:  # an invalid zone is the field's message; the preview shows UTC
        return ZoneInfo("UTC")


def _timezone_input() -> W.Combobox:
    return W.Combobox(options=sorted(available_timezones()), ensure_option=False, continuous_update=False,
                      placeholder="an IANA name, e.g. Asia/Shanghai")


def schedule_form(task: TaskRef | Task, client: PipelineClient | None = None, *,
                  auto_preview: bool = True) -> ScheduleForm:
    """The schedule configuration of ``task`` (a name, an id or a ``Task``) as a form,
    loaded from its draft; shown when it is the cell's result."""
    return ScheduleForm(task, client, auto_preview=auto_preview)


# --- the Create Offline Script dialog ----------------------------------------------------------

TASK_NAME_MAX = 64
DESCRIPTION_MAX = 1000
NAME_FORBIDDEN = '|:?<>*"/\\'
SIDES = {"source": "read", "target": "write"}


class CreateTaskForm(_Shown):
    """The Create Offline Script dialog (SPEC section 3): name, schedule type, description,
    folder, then per side a type and a data source of that type the user may read
    (source) or write (target), and optionally the tables that fill the script's template."""

    FIELDS = ("name", "schedule_type", "description", "folder_id", "source_type", "source_datasource",
              "source_table", "target_type", "target_datasource", "target_table")

    def __init__(self, client: PipelineClient | None = None, *, project: int | str | None = None):
        self.client = _default_client(client)
        self.project = project
        self.task: Task | None = None
        self.types = sorted(self.client.request("GET", "/datasource-types"))
        self.datasources: list[DataSource] = list(self.client.datasources())
        self.taken = {t.name for t in self.client.tasks(project)}
        tree = self.client.tree(project)
        self.folders = [(path, node.id) for path, node in _folders(tree)]
        self._client_errors: dict[str, list[str]] = {}
        self._server_errors: dict[str, list[str]] = {}
        self._touched: set[str] = set()
        self._submitted = False
        self._loading = False
        self.error = W.HTML("")
        self.status = W.HTML("")
        self.fields: dict[str, W.Widget] = {
            "name": W.Text(placeholder='at most 64 characters, none of | : ? < > * " / \\', continuous_update=False),
            "schedule_type": W.Dropdown(options=[("Recurring Task Node", "recurring"),
                                                 ("Manual Task Node", "manual")]),
            "description": W.Textarea(rows=2, placeholder="at most 1000 characters", continuous_update=False),
            "folder_id": W.Dropdown(options=self.folders, value=tree.id),
        }
        for side in SIDES:
            self.fields[f"{side}_type"] = W.Dropdown(options=[("Select a type", "")] + [(t, t) for t in self.types])
            self.fields[f"{side}_datasource"] = W.Dropdown(options=[("", "")])
            self.fields[f"{side}_table"] = W.Combobox(placeholder="optional: fills the template's columns",
                                                      ensure_option=False, continuous_update=False)
        self.messages = {name: _message_widget() for name in self.FIELDS}
        labels = {"name": ("Task Name", True), "schedule_type": ("Schedule Type", True),
                  "description": ("Description", False), "folder_id": ("Select Directory", False),
                  "source_type": ("Source Type", True), "source_datasource": ("Source Datasource", True),
                  "source_table": ("Source Table", False), "target_type": ("Target Type", True),
                  "target_datasource": ("Target Datasource", True), "target_table": ("Target Table", False)}
        rows = {}
        for name, widget in self.fields.items():
            widget.layout.width = INPUT_WIDTH
            widget.style.description_width = "0px"
            widget.observe(lambda change, n=name: self._edited(n), names="value")
            title, required = labels[name]
            rows[name] = _row(_label(title, required=required), widget, self.messages[name], name)
        self.create_button = W.Button(description="Create", button_style="primary", icon="check")
        self.create_button.on_click(lambda _: self.save())
        self.new_box = W.VBox([])
        new_buttons = []
        for side in SIDES:
            button = W.Button(description=f"New {side} data source", icon="plus", layout=W.Layout(width="auto"))
            button.on_click(lambda _, s=side: self.new_datasource(s))
            new_buttons.append(button)
        self.widget = W.VBox([
            W.HTML("<h4 style='margin:4px 0'>Create Offline Script</h4>"),
            _section_title("Basic information"),
            *[rows[n] for n in ("name", "schedule_type", "description", "folder_id")],
            _section_title("Datasource config"),
            *[rows[n] for n in ("source_type", "source_datasource", "source_table",
                                "target_type", "target_datasource", "target_table")],
            W.HBox(new_buttons), self.new_box, self.error,
            W.HBox([self.create_button, self.status], layout=W.Layout(align_items="center")),
        ])
        self._validate()

    # the programmatic API

    def offered(self, side: str) -> list[str]:
        """The data sources offered on a side: of its type, that the user may read (source)
        or write (target); an owner may do both."""
        kind = self.fields[f"{side}_type"].value
        permission = SIDES[side]
        return [d.name for d in self.datasources
                if d.type == kind and ("owner" in d.permissions or permission in d.permissions)]

    @property
    def value(self) -> dict[str, Any]:
        return {name: widget.value for name, widget in self.fields.items()}

    @property
    def errors(self) -> dict[str, list[str]]:
        shown = {k: v for k, v in self._client_errors.items() if self._submitted or k in self._touched}
        for field, messages in self._server_errors.items():
            shown.setdefault(field, []).extend(messages)
        return shown

    def get(self, name: str) -> Any:
        return self._widget(name).value

    def message(self, name: str) -> str:
        """The message shown beside a field ("" when none)."""
        self._widget(name)
        return _shown_text(self.messages[name])

    def set(self, name: str, value: Any) -> CreateTaskForm:
        """Set a field as choosing or typing it would; a data source that is not offered
        is refused with the reason."""
        widget = self._widget(name)
        if isinstance(widget, W.Dropdown) and value not in [v for _, v in widget.options]:
            side = name.split("_")[0]
            if name.endswith("_datasource"):
                raise FormError(f"{value!r} is not offered as the {side}: it is not a data source of type "
                                f"{self.fields[f'{side}_type'].value!r} that you may {SIDES[side]} "
                                f"(offered: {', '.join(self.offered(side)) or 'none'})")
            raise FormError(f"{name}: {value!r} is not one of {', '.join(str(v) for _, v in widget.options)}")
        widget.value = value
        return self

    def update(self, values: Mapping[str, Any]) -> CreateTaskForm:
        for name, value in values.items():  # in the given order: a type before its data source
            self.set(name, value)
        return self

    def save(self) -> Task | None:
        """OK: create the task (with its script template); None when a rule stops it."""
        self._submitted = True
        self._validate()
        if self._client_errors:
            self.status.value = _status(f"not created: {_count(self._client_errors)} to fix", False)
            return None
        value = self.value
        try:
            task = self.client.create_task(
                value["name"], source=value["source_datasource"], target=value["target_datasource"],
                source_type=value["source_type"], target_type=value["target_type"],
                schedule_type=value["schedule_type"], description=value["description"],
                folder=value["folder_id"], source_table=value["source_table"] or "",
                target_table=value["target_table"] or "", project=self.project)
        except PipelineError as error:
            self._server_errors = {}
            for field, message in _issues(error):
                self._server_errors.setdefault(field if field in self.fields else "", []).append(message)
            self.error.value = "" if error.issues else _status(error.message, False)
            self._show()
            self.status.value = _status("not created", False)
            return None
        self.task = task
        self.taken.add(task.name)
        self.status.value = _status(f"created task {task.name} (id {task.id}): schedule_form({task.name!r}) "
                                    "configures its schedule", True)
        self.create_button.disabled = True
        return task

    def new_datasource(self, side: str) -> DatasourceForm:
        """"New" beside a side's data source: a data source form below; once created it is
        chosen on that side."""
        kind = self.fields[f"{side}_type"].value or None

        def created(datasource: DataSource) -> None:
            self.datasources = list(self.client.datasources())
            self.new_box.children = []
            self.set(f"{side}_type", datasource.type)
            self.set(f"{side}_datasource", datasource.name)

        form = DatasourceForm(None, self.client, type=kind, on_saved=created)
        self.new_box.children = [form.widget]
        return form

    # inside

    def _widget(self, name: str) -> W.Widget:
        if name not in self.fields:
            raise FormError(f"{name!r} is not a field of this form (fields: {', '.join(self.fields)})")
        return self.fields[name]

    def _edited(self, name: str) -> None:
        if self._loading:
            return
        self._touched.add(name)
        self._server_errors.pop(name, None)
        self.error.value = ""
        for side in SIDES:
            if name == f"{side}_type":
                self._offer(side)
            if name == f"{side}_datasource":
                self._tables(side)
        self._validate()

    def _offer(self, side: str) -> None:
        offered = self.offered(side)
        kind = self.fields[f"{side}_type"].value
        placeholder = ("Select a data source" if offered else
                       f"None you may {SIDES[side]}: New, or request a permission" if kind else "")
        self._loading = True
        try:
            widget = self.fields[f"{side}_datasource"]
            widget.options = [(placeholder, "")] + [(n, n) for n in offered]
            widget.value = offered[0] if len(offered) == 1 else ""  # a type takes its only data source
        finally:
            self._loading = False
        self._tables(side)

    def _tables(self, side: str) -> None:
        name = self.fields[f"{side}_datasource"].value
        tables: list[str] = []
        if name:
            try:
                tables = self.client.tables(name)
            except PipelineError:
                tables = []  # a file type or an unreachable server: the table is typed
        self.fields[f"{side}_table"].options = tables

    def _validate(self) -> None:
        value = self.value
        problems = {
            "name": _task_name_problem(value["name"], self.taken),
            "description": (f"must be at most {DESCRIPTION_MAX} characters (it has {len(value['description'])})"
                            if len(value["description"]) > DESCRIPTION_MAX else None),
        }
        for side, permission in SIDES.items():
            problems[f"{side}_type"] = None if value[f"{side}_type"] else "is required"
            chosen = value[f"{side}_datasource"]
            problems[f"{side}_datasource"] = ("is required" if not chosen else None if chosen in self.offered(side)
                                              else f"you may not {permission} data source {chosen!r}")
        self._client_errors = {k: [v] for k, v in problems.items() if v}
        self._show()

    def _show(self) -> None:
        errors = self.errors
        for name, widget in self.messages.items():
            _show_message(widget, errors.get(name, []))
        if errors.get(""):
            self.error.value = _status("; ".join(errors[""]), False)

    def _text(self) -> str:
        value = self.value
        lines = ["Create Offline Script: " + (f"created task {self.task.name} (id {self.task.id})" if self.task
                                              else f"{value['name'] or '(no name yet)'}")]
        lines += [f"  source: {value['source_type'] or '?'} {value['source_datasource'] or '?'} "
                  f"(offered: {', '.join(self.offered('source')) or 'none'})",
                  f"  target: {value['target_type'] or '?'} {value['target_datasource'] or '?'} "
                  f"(offered: {', '.join(self.offered('target')) or 'none'})"]
        return "\n".join(lines + _errors_text(self.errors))


def _task_name_problem(name: str, taken: set[str]) -> str | None:
    if not name.strip():
        return "is required"
    if len(name) > TASK_NAME_MAX:
        return f"must be at most {TASK_NAME_MAX} characters (it has {len(name)})"
    bad = [c for c in NAME_FORBIDDEN if c in name]
    if bad:
        return f"must not contain {' '.join(bad)}"
    if name in taken:
        return f"a task named {name!r} already exists in this project"
    return None


def _folders(node, prefix: str = "") -> Iterator[tuple[str, Any]]:
    path = f"{prefix}/{node.name}" if prefix else node.name
    yield path, node
    for child in node.folders:
        yield from _folders(child, path)


def create_task_form(client: PipelineClient | None = None, *, project: int | str | None = None) -> CreateTaskForm:
    """The Create Offline Script dialog as a form; ``.save()`` (or Create) makes the task."""
    return CreateTaskForm(client, project=project)


# --- data sources ----------------------------------------------------------------------------

DATASOURCE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]{0,127}")


class DatasourceForm(_Shown):
    """Create a data source, or edit one (``name`` given): its connection fields generated
    from its type's JSON Schema, the password masked (and, when editing, left empty to
    keep the stored one), Save, and Test connection with the server's message."""

    def __init__(self, name: str | None = None, client: PipelineClient | None = None, *, type: str | None = None,
                 on_saved: Callable[[DataSource], None] | None = None):
        self.client = _default_client(client)
        self.on_saved = on_saved
        self.types: dict[str, dict[str, Any]] = self.client.request("GET", "/datasource-types")
        self.existing: DataSource | None = self.client.datasource(name) if name else None
        self.saved: DataSource | None = self.existing
        self.tested: ConnectionTest | None = None
        self._dirty = self.existing is None
        self._errors: dict[str, list[str]] = {}
        self.status = W.HTML("")
        kind = self.existing.type if self.existing else type or next(iter(self.types))
        self.name = W.Text(value=name or "", placeholder="letters, digits, _ and -", disabled=bool(name),
                           continuous_update=False, layout=W.Layout(width=INPUT_WIDTH))
        self.type = W.Dropdown(options=[(f"{t} ({s.get('title', t)})", t) for t, s in self.types.items()],
                               value=kind, disabled=bool(name), layout=W.Layout(width=INPUT_WIDTH))
        self.description = W.Textarea(value=self.existing.description if self.existing else "", rows=2,
                                      continuous_update=False, layout=W.Layout(width=INPUT_WIDTH))
        for widget in (self.name, self.type, self.description):
            widget.style.description_width = "0px"
        self.messages = {n: _message_widget() for n in ("name", "type", "description")}
        self.params_box = W.VBox([])
        self.params: SchemaForm
        self._build_params(kind)
        self.name.observe(lambda _: self._edited("name"), names="value")
        self.description.observe(lambda _: self._edited("description"), names="value")
        self.type.observe(self._type_changed, names="value")
        self.save_button = W.Button(description="Save changes" if name else "Create", button_style="primary",
                                    icon="save")
        self.save_button.on_click(lambda _: self.save())
        self.test_button = W.Button(description="Test connection", icon="plug")
        self.test_button.on_click(lambda _: self.test())
        heading = f"Data source {name}" if name else "New Data Source"
        self.widget = W.VBox([
            W.HTML(f"<h4 style='margin:4px 0'>{escape(heading)}</h4>"),
            _row(_label("Name", required=True), self.name, self.messages["name"], "name"),
            _row(_label("Type", required=True), self.type, self.messages["type"], "type"),
            _section_title("Connection"), self.params_box,
            _row(_label("Description"), self.description, self.messages["description"], "description"),
            W.HBox([self.save_button, self.test_button, self.status], layout=W.Layout(align_items="center")),
        ])
        self._validate()

    # the programmatic API

    @property
    def fields(self) -> dict[str, W.Widget]:
        """The inputs by name: ``name``, ``type``, ``description`` and ``params.<field>``."""
        return {"name": self.name, "type": self.type, "description": self.description,
                **{f"params.{k}": w for k, w in self.params.fields.items()}}

    @property
    def value(self) -> dict[str, Any]:
        """What Save sends; a password shown as ``******`` (``params`` holds the real one)."""
        value = self._body()
        stored = self.existing is not None and self.existing.params.get("password")
        if value["params"].get("password") or stored:
            value["params"]["password"] = "******"
        return value

    @property
    def errors(self) -> dict[str, list[str]]:
        merged = {k: list(v) for k, v in self._errors.items()}
        for path, messages in self.params.errors.items():
            merged.setdefault(f"params.{path}", []).extend(messages)
        return merged

    def get(self, name: str) -> Any:
        if name.startswith("params."):
            return self.params.get(name[len("params."):])
        return self.fields[name].value

    def message(self, name: str) -> str:
        """The message shown beside a field ("" when none)."""
        if name.startswith("params."):
            return self.params.message(name[len("params."):])
        return _shown_text(self.messages[name])

    def set(self, name: str, value: Any) -> DatasourceForm:
        if name.startswith("params."):
            self.params.set(name[len("params."):], value)
        elif name in ("name", "type", "description"):
            self.fields[name].value = value
        else:
            raise FormError(f"{name!r} is not a field of this form (fields: {', '.join(self.fields)})")
        return self

    def update(self, values: Mapping[str, Any]) -> DatasourceForm:
        for name, value in values.items():
            self.set(name, value)
        return self

    def save(self) -> DataSource | None:
        """Create the data source, or save the changes; None when a field is at fault."""
        self._validate()
        if self.errors:
            self.status.value = _status(f"not saved: {_count(self.errors)} to fix", False)
            return None
        body = self._body()
        try:
            if self.existing is None:
                saved = self.client.create_datasource(body["name"], body["type"], body["params"],
                                                      description=body["description"])
            else:
                from .display import parse

                answer = self.client.request("PATCH", f"/datasources/{_segment(body['name'])}",
                                             body={"params": body["params"], "description": body["description"]})
                saved = parse(DataSource, answer)
        except PipelineError as error:
            params = set(self.types[self.type.value]["properties"])
            issues = _issues(error)
            self._errors = {}
            self.params.set_server_issues([(f, m) for f, m in issues if f in params])
            for field, message in issues:
                if field not in params:
                    self._errors.setdefault(field if field in self.messages else "name", []).append(message)
            if not issues:
                self.status.value = _status(f"not saved: {error.message}", False)
            else:
                self.status.value = _status("not saved", False)
            self._show()
            return None
        self.saved = self.existing = saved
        if "password" in self.params.fields:  # from now on, empty keeps the stored one
            with self.params.quiet():
                self.params.set("password", "")
            self.params.fields["password"].placeholder = "unchanged (stored encrypted)"
        self._dirty = False
        self.name.disabled = self.type.disabled = True
        self.save_button.description = "Save changes"
        self.status.value = _status(f"saved {saved.name} ({saved.type})", True)
        if self.on_saved is not None:
            self.on_saved(saved)
        return saved

    def test(self) -> ConnectionTest | None:
        """Test the connection on the server (saving unsaved changes first): ``ok`` and the
        server's message, shown beside the buttons."""
        if self._dirty or self.existing is None:
            if self.save() is None:
                return None
        self.tested = self.client.test_datasource(self.saved.name)
        mark = "✓ connected" if self.tested.ok else "✗ cannot connect"
        self.status.value = _status(f"{mark}: {self.tested.message}", self.tested.ok)
        return self.tested

    # inside

    def _build_params(self, kind: str) -> None:
        schema = self.types[kind]
        values = dict(self.existing.params) if self.existing else {}
        if "password" in values:
            values["password"] = ""  # masked by the server; empty keeps the stored one
        self.params = SchemaForm(schema, values or None, validator=_filled_validator(schema),
                                 on_change=lambda _: self._edited("params"))
        password = self.params.fields.get("password")
        if self.existing is not None and isinstance(password, W.Password):
            password.placeholder = "unchanged (stored encrypted)"
        self.params_box.children = [self.params.root.box]

    def _type_changed(self, change) -> None:
        self._build_params(change["new"])
        self._edited("type")

    def _edited(self, name: str) -> None:
        self._dirty = True
        self._validate()

    def _body(self) -> dict[str, Any]:
        params = {k: v for k, v in self.params.value.items() if v not in (None, "")}
        return {"name": self.name.value, "type": self.type.value, "params": params,
                "description": self.description.value}

    def _validate(self) -> None:
        self._errors = {}
        if not DATASOURCE_NAME.fullmatch(self.name.value):
            self._errors["name"] = ["is required" if not self.name.value else
                                    "must start with a letter or _ and hold only letters, digits, _ and - "
                                    "(at most 128)"]
        if len(self.description.value) > 1000:
            self._errors["description"] = ["must be at most 1000 characters"]
        self.params.validate()
        self._show()

    def _show(self) -> None:
        for name, widget in self.messages.items():
            _show_message(widget, self._errors.get(name, []))

    def _text(self) -> str:
        value = self.value
        params = ", ".join(f"{k}={v}" for k, v in value["params"].items())
        lines = [f"Data source {value['name'] or '(no name yet)'} ({value['type']}): {params}"]
        if self.tested is not None:
            lines.append(f"  test: {'ok' if self.tested.ok else 'failed'}: {self.tested.message}")
        return "\n".join(lines + _errors_text(self.errors))


def _filled_validator(schema: dict[str, Any]) -> Validator:
    """Connection fields as the server takes them: an empty input is a field not given
    (so a required one is "is required", and an empty password keeps the stored one)."""
    validate = json_schema_validator(schema)
    return lambda value: validate({k: v for k, v in value.items() if v not in (None, "")})


def _segment(value: str) -> str:
    import requests

    return requests.utils.quote(value, safe="")


def datasource_form(name: str | None = None, client: PipelineClient | None = None, *,
                    type: str | None = None) -> DatasourceForm:
    """A data source form: a new one (of ``type``), or the one named ``name`` to edit."""
    return DatasourceForm(name, client, type=type)
