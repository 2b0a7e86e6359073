"""The parameter grammar: built-ins, date and time expressions, custom parameters."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from jupyter_offline_pipeline.script.params import (
    ParamContext,
    ParameterError,
    parse_assignments,
    parse_bizdate,
    references,
    resolve,
    resolve_text,
    unresolved_parameters,
)

moderate = settings(max_examples=80, deadline=None)

LEAP_DAY = date(2024, 2, 29)


def ctx_at(bizdate: date = LEAP_DAY, **kw) -> ParamContext:
    return ParamContext.for_bizdate(bizdate, **kw)


# --- the context -------------------------------------------------------------------------


def test_for_bizdate_schedules_the_next_midnight():
    ctx = ParamContext.for_bizdate(date(2023, 12, 31))
    assert ctx.scheduled_time == datetime(2024, 1, 1, 0, 0)


def test_for_schedule_takes_the_day_before_as_bizdate():
    ctx = ParamContext.for_schedule(datetime(2024, 3, 1, 2, 30))
    assert ctx.bizdate == LEAP_DAY


def test_both_dates_given_are_kept_as_given():
    ctx = ParamContext(bizdate=date(2024, 1, 5), scheduled_time=datetime(2024, 2, 1, 8))
    assert (ctx.bizdate, ctx.scheduled_time) == (date(2024, 1, 5), datetime(2024, 2, 1, 8))


def test_no_dates_means_scheduled_now():
    before = datetime.now().replace(microsecond=0)
    ctx = ParamContext()
    assert before <= ctx.scheduled_time <= datetime.now()
    assert ctx.bizdate == ctx.scheduled_time.date() - timedelta(days=1)


def test_bizdate_may_be_given_as_text():
    assert ParamContext(bizdate="20240229").bizdate == LEAP_DAY


def test_parse_bizdate():
    assert parse_bizdate("20240229") == LEAP_DAY
    assert parse_bizdate(" 19991231 ") == date(1999, 12, 31)


@pytest.mark.parametrize("text", ["2024-02-29", "20230229", "2024022", "", "abcdefgh", "202402290"])
def test_parse_bizdate_refuses(text):
    with pytest.raises(ValueError, match="expected YYYYMMDD"):
        parse_bizdate(text)


# --- built-ins and date expressions --------------------------------------------------------


def test_builtins():
    ctx = ctx_at(project="sales_dev", task_id="t42", instance_id="i7")
    text = "${bizdate}/${project}/${taskId}/${instanceId}"
    assert resolve_text(text, ctx) == "20240229/sales_dev/t42/i7"


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("${yyyyMMdd}", "20240229"),
        ("${yyyy-MM-dd}", "2024-02-29"),
        ("${yyyy/MM/dd}", "2024/02/29"),
        ("${yyyyMM}", "202402"),
        ("${yyyy}", "2024"),
        ("${MM}", "02"),
        ("${dd}", "29"),
        ("${yy_MM_dd}", "24_02_29"),
        ("${dd.MM.yyyy}", "29.02.2024"),
        ("${yyyyMMdd-1}", "20240228"),
        ("${yyyyMMdd+1}", "20240301"),
        ("${yyyy-MM-dd+7}", "2024-03-07"),
        ("${yyyy-MM-dd-1}", "2024-02-28"),
        ("${yyyy-MM-dd-366}", "2023-02-28"),
        ("${yyyy/MM/dd-60}", "2023/12/31"),
        ("${MM-1}", "02"),
        ("${ yyyyMMdd - 1 }", "20240228"),
    ],
)
def test_date_expressions(expression, expected):
    assert resolve_text(expression, ctx_at()) == expected


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("$[yyyyMMddHHmmss]", "20240301023005"),
        ("$[yyyy-MM-dd HH:mm:ss]", "2024-03-01 02:30:05"),
        ("$[HH]", "02"),
        ("$[HH-1/24]", "01"),
        ("$[HH-3/24]", "23"),
        ("$[yyyyMMddHH-3/24]", "2024022923"),
        ("$[yyyyMMddHHmm+30/24/60]", "202403010300"),
        ("$[yyyyMMddHHmm-151/24/60]", "202402292359"),
        ("$[yyyy-MM-dd-7]", "2024-02-23"),
        ("$[yyyy-MM-dd-1]", "2024-02-29"),
        ("$[yyyy-MM-dd+1]", "2024-03-02"),
        ("$[yy/MM/dd_HH.mm.ss]", "24/03/01_02.30.05"),
        ("$[yyyy-MM-dd HH:mm:ss -1/24]", "2024-03-01 01:30:05"),
    ],
)
def test_time_expressions(expression, expected):
    ctx = ParamContext.for_schedule(datetime(2024, 3, 1, 2, 30, 5))
    assert resolve_text(expression, ctx) == expected


def test_expressions_inside_sql():
    sql = "select * from t where ds = '${bizdate}' and ts < '$[yyyy-MM-dd HH:mm:ss]'"
    expected = "select * from t where ds = '20240229' and ts < '2024-03-01 00:00:00'"
    assert resolve_text(sql, ctx_at()) == expected


@pytest.mark.parametrize(
    "text",
    [
        "costs $5",
        "$",
        "$$",
        "a $b c",
        "json_extract(doc, '$[0]')",
        "jsonb_path_query(doc, '$[*] ? (@ > 1)')",
        "json_extract(doc, '$[last]')",
        "json_extract(doc, '$.a[0]')",
        "an open ${ brace",
        "an open $[ bracket",
    ],
)
def test_other_dollars_are_left_alone(text):
    assert resolve_text(text, ctx_at()) == text


@pytest.mark.parametrize(
    "expression, message",
    [
        ("${}", "invalid parameter expression"),
        ("${yyyy-MM-dd+}", r"invalid parameter expression '\$\{yyyy-MM-dd\+\}'"),
        ("${yyyyMMdd-1/24}", "invalid parameter expression"),
        ("$[yyyMMdd]", r"invalid time expression '\$\[yyyMMdd\]'"),
        ("$[HH-1/25]", "invalid time expression"),
        ("$[HH-1/24/61]", "invalid time expression"),
        ("$[yyyy-]", "invalid time expression"),
        ("${yyyyMMdd-99999999999}", "date out of range"),
        ("$[yyyyMMdd+99999999999]", "date out of range"),
    ],
)
def test_invalid_expressions(expression, message):
    with pytest.raises(ParameterError, match=message):
        resolve_text(expression, ctx_at())


# --- custom parameters ---------------------------------------------------------------------


def test_custom_parameter_chain_with_expressions():
    custom = {"table": "ods_${region}_${yyyyMM}", "region": "eu", "hour": "$[HH-1/24]"}
    ctx = ctx_at(custom=custom)
    assert resolve_text("${table}:${hour}", ctx) == "ods_eu_202402:23"


def test_overrides_win_over_defaults_and_may_add_names():
    custom = {"region": "eu", "table": "t_${region}"}
    ctx = ctx_at(custom=custom, overrides={"region": "us", "x": "1"})
    assert resolve_text("${table}${x}", ctx) == "t_us1"


def test_custom_definitions_shadow_date_patterns():
    assert resolve_text("${dd}", ctx_at(custom={"dd": "mine"})) == "mine"


def test_custom_values_are_stringified():
    assert resolve_text("${n}", ctx_at(custom={"n": 5})) == "5"


def test_undefined_parameter():
    with pytest.raises(ParameterError, match="parameter 'x' is not defined") as caught:
        resolve_text("a ${x} b", ctx_at())
    assert caught.value.name == "x"


def test_undefined_parameter_inside_a_definition_names_its_user():
    with pytest.raises(ParameterError, match=r"'x' is not defined \(used by parameter 'b'\)"):
        resolve_text("${a}", ctx_at(custom={"a": "${b}", "b": "${x}"}))


@pytest.mark.parametrize(
    "custom, cycle",
    [
        ({"a": "${a}"}, "a -> a"),
        ({"a": "${b}", "b": "${a}"}, "a -> b -> a"),
        ({"a": "x${b}", "b": "${c}", "c": "y${b}"}, "b -> c -> b"),
    ],
)
def test_circular_references(custom, cycle):
    with pytest.raises(ParameterError, match=f"circular parameter reference: {cycle}$"):
        resolve_text("${a}", ctx_at(custom=custom))


def test_unreferenced_cycles_do_no_harm():
    assert resolve_text("${bizdate}", ctx_at(custom={"a": "${a}"})) == "20240229"


@pytest.mark.parametrize(
    "name, message",
    [
        ("a" * 33, "longer than 32 characters"),
        ("1abc", "invalid parameter name"),
        ("my-param", "invalid parameter name"),
        ("bizdate", "built-in parameter"),
        ("taskId", "built-in parameter"),
    ],
)
def test_bad_definition_names(name, message):
    with pytest.raises(ParameterError, match=message) as caught:
        resolve_text("x", ctx_at(custom={name: "v"}))
    assert caught.value.name == name
    with pytest.raises(ParameterError, match=message):
        resolve_text("x", ctx_at(overrides={name: "v"}))


def test_longest_name_is_fine():
    name = "p" * 32
    assert resolve_text("${%s}" % name, ctx_at(custom={name: "ok"})) == "ok"


# --- assignments ---------------------------------------------------------------------------


def test_parse_assignments_from_text():
    text = "# defaults\nregion = eu\n\nwhere=ds='${bizdate}' and a=b\nempty=\n"
    assert parse_assignments(text) == {
        "region": "eu",
        "where": "ds='${bizdate}' and a=b",
        "empty": "",
    }


def test_parse_assignments_from_a_list():
    assert parse_assignments(["a=1", "b=${a}2"]) == {"a": "1", "b": "${a}2"}


@pytest.mark.parametrize(
    "lines, message",
    [
        (["a=1", "oops"], "line 2: expected name=value, got 'oops'"),
        (["=1"], "line 1: invalid parameter name ''"),
        (["x" * 33 + "=1"], "line 1: parameter name 'x+' is longer than 32"),
        (["a=1", "a=2"], "line 2: parameter 'a' is defined twice"),
        (["bizdate=20240101"], "line 1: 'bizdate' is a built-in"),
    ],
)
def test_parse_assignments_reports_the_bad_line(lines, message):
    with pytest.raises(ParameterError, match=message):
        parse_assignments(lines)


# --- structures, references, validation helpers ---------------------------------------------


def test_resolve_walks_json_like_structures():
    script = {
        "${bizdate}": ["${bizdate}", {"n": 3, "ok": True, "none": None}],
        "where": ("ds=${yyyyMMdd-1}",),
    }
    assert resolve(script, ctx_at()) == {
        "${bizdate}": ["20240229", {"n": 3, "ok": True, "none": None}],
        "where": ("ds=20240228",),
    }


def test_references():
    text = "${a} $[HH-1/24] ${ yyyy-MM-dd } $5 $[0] ${a}"
    assert references(text) == ["a", "HH-1/24", "yyyy-MM-dd", "a"]


def test_unresolved_parameters():
    text = "${x} ${bizdate} ${yyyyMMdd-1} ${defined} $[HH] ${y} ${x} ${yyyy-MM-dd+}"
    assert unresolved_parameters(text, ["defined"]) == ["x", "y", "yyyy-MM-dd+"]


def test_parameter_error_is_a_value_error():
    assert issubclass(ParameterError, ValueError)


# --- properties: date arithmetic against datetime as the oracle -------------------------------

# Where calendars are tricky: month ends, leap days, year ends.
EDGE_DATES = [
    date(year, month, day)
    for year in (1900, 1999, 2000, 2023, 2024, 2100)
    for month, day in ((1, 1), (1, 31), (2, 28), (3, 1), (4, 30), (12, 31))
] + [date(2000, 2, 29), date(2024, 2, 29), date(1996, 2, 29)]

bizdates = st.one_of(st.sampled_from(EDGE_DATES), st.dates(date(1900, 1, 1), date(2100, 12, 31)))
day_offsets = st.integers(-800, 800)


FULL_DATE_PATTERNS = [
    ("yyyyMMdd", "%Y%m%d"),
    ("yyyy-MM-dd", "%Y-%m-%d"),
    ("yyyy/MM/dd", "%Y/%m/%d"),
]


def signed(n: int) -> str:
    return f"{n:+d}"


@moderate
@given(bizdate=bizdates, days=day_offsets)
def test_date_offsets_match_timedelta(bizdate, days):
    expected = bizdate + timedelta(days=days)
    ctx = ctx_at(bizdate)
    for pattern, strptime_format in FULL_DATE_PATTERNS:
        text = resolve_text("${%s%s}" % (pattern, signed(days)), ctx)
        assert datetime.strptime(text, strptime_format).date() == expected


@moderate
@given(leap_year=st.sampled_from([1904, 1996, 2000, 2004, 2024, 2096]), days=day_offsets)
def test_leap_day_offsets(leap_year, days):
    leap_day = date(leap_year, 2, 29)
    text = resolve_text("${yyyy-MM-dd%s}" % signed(days), ctx_at(leap_day))
    assert text == (leap_day + timedelta(days=days)).isoformat()


DATE_TOKENS = {"yyyy": "%Y", "yy": "%y", "MM": "%m", "dd": "%d"}
TIME_TOKENS = {**DATE_TOKENS, "HH": "%H", "mm": "%M", "ss": "%S"}


def patterns(tokens: dict[str, str], separators: str):
    """(our pattern, the equivalent strftime format) built from random tokens."""
    token = st.sampled_from(sorted(tokens))
    separator = st.sampled_from(["", *separators])
    parts = st.lists(st.tuples(separator, token), min_size=0, max_size=5)

    def build(first, rest):
        ours, theirs, previous = first, tokens[first], first
        for sep, tok in rest:
            if not sep and previous[0] == tok[0] == "y":
                sep = "_"  # yy followed by yy is written yyyy, a different token
            ours, theirs, previous = ours + sep + tok, theirs + sep + tokens[tok], tok
        return ours, theirs

    return st.builds(build, token, parts)


@moderate
@given(bizdate=bizdates, days=day_offsets, pattern=patterns(DATE_TOKENS, "-/_."))
def test_any_date_pattern_formats_like_strftime(bizdate, days, pattern):
    ours, theirs = pattern
    expected = (bizdate + timedelta(days=days)).strftime(theirs)
    assert resolve_text("${%s%s}" % (ours, signed(days)), ctx_at(bizdate)) == expected


# Midnight and the last minute of edge days: the rollovers into the next day, month, year.
scheduled_times = st.one_of(
    st.builds(
        lambda day, hour, minute: datetime(day.year, day.month, day.day, hour, minute),
        st.sampled_from(EDGE_DATES),
        st.sampled_from([0, 23]),
        st.sampled_from([0, 59]),
    ),
    st.datetimes(datetime(1900, 1, 1), datetime(2100, 12, 31)),
)
UNITS = {"": "days", "/24": "hours", "/24/60": "minutes"}


@moderate
@given(
    scheduled=scheduled_times,
    amount=st.integers(-3000, 3000),
    unit=st.sampled_from(sorted(UNITS)),
)
def test_time_offsets_match_timedelta(scheduled, amount, unit):
    expected = scheduled.replace(microsecond=0) + timedelta(**{UNITS[unit]: amount})
    ctx = ParamContext.for_schedule(scheduled.replace(microsecond=0))
    text = resolve_text("$[yyyy-MM-dd HH:mm:ss%s%s]" % (signed(amount), unit), ctx)
    assert datetime.strptime(text, "%Y-%m-%d %H:%M:%S") == expected
    compact = resolve_text("$[yyyyMMddHHmmss%s%s]" % (signed(amount), unit), ctx)
    assert datetime.strptime(compact, "%Y%m%d%H%M%S") == expected


@moderate
@given(
    scheduled=scheduled_times,
    amount=st.integers(-100, 100),
    unit=st.sampled_from(sorted(UNITS)),
    pattern=patterns(TIME_TOKENS, " -/:_."),
)
def test_any_time_pattern_formats_like_strftime(scheduled, amount, unit, pattern):
    ours, theirs = pattern
    scheduled = scheduled.replace(microsecond=0)
    expected = (scheduled + timedelta(**{UNITS[unit]: amount})).strftime(theirs)
    ctx = ParamContext.for_schedule(scheduled)
    assert resolve_text("$[%s%s%s]" % (ours, signed(amount), unit), ctx) == expected


@moderate
@given(st.datetimes(datetime(1900, 1, 2), datetime(2100, 12, 31)))
def test_bizdate_is_the_day_before_the_scheduled_day(scheduled):
    ctx = ParamContext.for_schedule(scheduled)
    day_before = scheduled.date() - timedelta(days=1)
    assert resolve_text("${bizdate}", ctx) == day_before.strftime("%Y%m%d")
    assert ParamContext.for_bizdate(ctx.bizdate).scheduled_time.date() == scheduled.date()


# --- properties: custom parameters ------------------------------------------------------------

names = st.from_regex(r"[a-z_][a-z0-9_]{0,31}", fullmatch=True).filter(
    lambda name: name not in {"dd", "yy", "yyyy"}  # date patterns: resolvable without definition
)


@moderate
@given(st.lists(names, min_size=1, max_size=8, unique=True), st.text("abc xyz$-", max_size=10))
def test_chains_resolve_to_the_last_value(chain, tail):
    # p0 = <${p1}>, p1 = <${p2}>, ..., pn = tail
    custom = {name: "<${%s}>" % after for name, after in zip(chain, chain[1:])}
    custom[chain[-1]] = tail
    nesting = len(chain) - 1
    expected = "<" * nesting + tail + ">" * nesting
    assert resolve_text("${%s}" % chain[0], ctx_at(custom=custom)) == expected


@moderate
@given(st.lists(names, min_size=1, max_size=8, unique=True), st.data())
def test_cycles_are_reported_in_order(cycle, data):
    custom = {name: "x${%s}" % after for name, after in zip(cycle, cycle[1:] + cycle[:1])}
    start = data.draw(st.sampled_from(cycle))
    rotated = cycle[cycle.index(start):] + cycle[: cycle.index(start)]
    expected = " -> ".join(rotated + [start])
    with pytest.raises(ParameterError) as caught:
        resolve_text("${%s}" % start, ctx_at(custom=custom))
    assert str(caught.value) == f"circular parameter reference: {expected}"
    assert caught.value.name == start


@moderate
@given(name=names, defined=st.lists(names, max_size=5))
def test_unknown_names_are_errors_and_reported(name, defined):
    assume(name not in defined and name not in {"bizdate", "project"})
    text = "before ${%s} after" % name
    assert unresolved_parameters(text, defined) == [name]
    with pytest.raises(ParameterError, match=f"parameter '{name}' is not defined"):
        resolve_text(text, ctx_at(custom={d: "v" for d in defined}))


@moderate
@given(st.text(st.characters(blacklist_characters="{["), max_size=40))
def test_text_without_expressions_is_unchanged(text):
    assert resolve_text(text, ctx_at()) == text
    assert references(text) == []
