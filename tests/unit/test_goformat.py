"""`--format` templates: what parses (only `{{.Field}}` and literal text, docker's `\\t`/`\\n` escapes, a
`table` prefix), what is refused and why, and what a parsed template renders."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockbolt.core import goformat
from dockbolt.core.args import ImagesArgs, PsArgs
from dockbolt.core.errors import ContractError
from dockbolt.core.goformat import IMAGES_FIELDS, PS_FIELDS, PS_NOT_YET, Field, Template, parse, render
from dockbolt.core.tables import Table

# Literal text as users type it: anything without a "{{" (a lone "{" or "}}" is literal in Go too), and
# without a backslash (docker turns "\t" and "\n" into a tab and a newline; tested separately).
literal = st.text(st.characters(blacklist_characters="{\\", blacklist_categories=("Cs",)), max_size=12)
field = st.sampled_from(sorted(PS_FIELDS))
pieces = st.lists(st.one_of(literal, field.map(Field)), min_size=1, max_size=8)


def spelled(parts: list[str | Field]) -> str:
    return "".join(p if isinstance(p, str) else "{{." + p.name + "}}" for p in parts)


@given(pieces, st.dictionaries(field, st.text(max_size=10)))
def test_a_template_fills_each_field_with_its_value_and_keeps_the_text_between(
        parts: list[str | Field], given_values: dict[str, str]) -> None:
    fmt = spelled(parts)
    values = {name: given_values.get(name, f"<{name}>") for name in PS_FIELDS}
    if not fmt.strip() or fmt.strip() == "json" or fmt.strip().startswith("table"):
        return  # those mean something else (tested below)
    template = parse(fmt, PS_FIELDS)
    # The format is trimmed (as docker trims it), then every placeholder is replaced, in one pass.
    expected = re.sub(r"\{\{\.(\w+)\}\}", lambda m: values[m[1]], fmt.strip())
    assert template.fill(values) == expected
    assert template.fields == tuple(p.name for p in parts if isinstance(p, Field))


@given(st.text(max_size=40))
def test_any_text_parses_or_is_refused_with_a_reason(fmt: str) -> None:
    try:
        template = parse(fmt, PS_FIELDS, PS_NOT_YET)
    except ValueError as exc:
        assert str(exc)
        return
    assert set(template.fields) <= set(PS_FIELDS)
    assert all(p for p in template.parts)


def test_spaces_inside_the_braces_and_docker_escapes() -> None:
    t = parse("  {{ .Names }}\\t{{.Status}}\\n ", PS_FIELDS)
    assert t == Template(False, (Field("Names"), "\t", Field("Status"), "\n"))
    assert parse("table {{.Names}}\\t{{.Ports}}", PS_FIELDS) == Template(
        True, (Field("Names"), "\t", Field("Ports")))


@pytest.mark.parametrize(("fmt", "reason"), [
    ("{{json .}}", "only plain `{{.Field}}` placeholders work, not `{{json .}}`"),
    ("{{.Names | printf \"%s\"}}", "only plain"),
    ("{{.Names}}{{if .Ports}}x{{end}}", "not `{{if .Ports}}`"),
    ("{{- .Names -}}", "only plain"),
    ("{{.}}", "only plain"),
    ("{{.Names.Foo}}", "only plain"),
    ("{{.Nope}}", "unknown field `.Nope`; fields: `.ID`, `.Image`"),
    ("{{.status}}", "(did you mean `.Status`?)"),
    ("{{.Size}}", "`.Size` is not available in dockbolt yet"),
    ("{{.Names", "unclosed `{{`"),
    ("table {{.Names}}\\n{{.ID}}", "one line per row"),
    ("json", "`json` output is not supported"),
    ("   ", "the format is empty"),
])
def test_what_is_refused_says_why(fmt: str, reason: str) -> None:
    with pytest.raises(ValueError) as err:
        parse(fmt, PS_FIELDS, PS_NOT_YET)
    assert reason in str(err.value)


def test_check_lets_the_compact_default_and_table_through() -> None:
    assert goformat.check("", PS_FIELDS) == ""
    assert goformat.check(" table ", PS_FIELDS) == " table "
    assert goformat.is_cli_table(" table ") and not goformat.is_cli_table("table {{.ID}}")
    with pytest.raises(ValueError):
        goformat.check("{{.Tag}}", PS_FIELDS)
    assert goformat.check("{{.Tag}}", IMAGES_FIELDS) == "{{.Tag}}"


def test_a_table_template_has_dockers_headers_and_cli_alignment() -> None:
    t = parse("table {{.Names}}\\t{{.Status}}: {{.State}}", PS_FIELDS)
    grid = render(t, PS_FIELDS, [{"Names": "web", "Status": "Up 2 minutes", "State": "running"},
                                 {"Names": "a-long-name", "Status": "Exited (0)", "State": "exit\ted"}])
    assert grid.headers == ("NAMES", "STATUS: STATE") and grid.layout == "cli"
    assert grid.render() == ("NAMES         STATUS: STATE\n"
                             "web           Up 2 minutes: running\n"
                             "a-long-name   Exited (0): exit ed")  # a tab in a value does not add a column


def test_a_plain_template_is_lines_without_a_header() -> None:
    grid = render(parse("{{.Repository}}:{{.Tag}}", IMAGES_FIELDS), IMAGES_FIELDS,
                  [{"Repository": "busybox", "Tag": "latest"}, {"Repository": "app", "Tag": "1.0"}])
    assert grid.layout == "lines" and grid.render() == "busybox:latest\napp:1.0"
    assert Table.from_dict(grid.to_dict()).render() == "busybox:latest\napp:1.0"  # the fan-out's round trip


def test_the_queue_refuses_a_format_the_bot_would_have_refused() -> None:
    assert PsArgs.from_dict({"format": "table {{.Names}}"}).format == "table {{.Names}}"
    assert ImagesArgs.from_dict(ImagesArgs(format="{{.ID}}").to_dict()) == ImagesArgs(format="{{.ID}}")
    with pytest.raises(ContractError, match="PsArgs: only plain"):
        PsArgs.from_dict({"format": "{{json .}}"})  # a forged or stale job: refused before it runs
    with pytest.raises(ContractError, match=r"unknown field `\.Names`"):
        ImagesArgs.from_dict({"format": "{{.Names}}"})
