"""One-file HTML export: self-contained, and no trace content can escape its JSON island."""

from __future__ import annotations

import copy
import json
import time
from html.parser import HTMLParser
from typing import Any

import pytest

from collector_tests.web.jaeger_traces import list_topics_trace
from onehub_collector.web import render_trace_html
from onehub_collector.web.assets import Asset, AssetCatalog, AssetError, bundle_script

BREAKOUT = "</script><script>alert(1)</script>"


class _Elements(HTMLParser):
    """Records each element's tag and attributes, and the text of every <script>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = True
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data


def _parse(document: str) -> _Elements:
    parser = _Elements()
    parser.feed(document)
    parser.close()
    return parser


def _hostile_trace() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    trace, logs = list_topics_trace(int(time.time() * 1e6))
    trace = copy.deepcopy(trace)
    trace["spans"][0]["tags"].append({"key": "user.note", "type": "string", "value": BREAKOUT})
    trace["spans"][1]["operationName"] = "<img src=x onerror=alert(2)>"
    logs[0]["body"] = "<!-- " + BREAKOUT + " & ]]>"
    return trace, logs


def test_the_embedded_json_parses_back_to_exactly_the_trace_and_logs() -> None:
    trace, logs = _hostile_trace()
    findings = [{"kind": "n_plus_one", "spanIDs": [trace["spans"][5]["spanID"]], "message": "3 x"}]
    document = _parse(render_trace_html(trace, logs, findings=findings))
    islands = [
        i
        for i, (tag, attrs) in enumerate(t for t in document.tags if t[0] == "script")
        if attrs.get("type") == "application/json"
    ]
    assert len(islands) == 1
    payload = json.loads(document.scripts[islands[0]])
    assert payload == {"trace": trace, "logs": logs, "findings": findings}


def test_a_script_breakout_in_an_attribute_adds_no_element() -> None:
    trace, logs = _hostile_trace()
    document_text = render_trace_html(trace, logs)
    document = _parse(document_text)
    scripts = [attrs for tag, attrs in document.tags if tag == "script"]
    # Exactly the JSON island and the viewer's module: nothing the trace smuggled in.
    assert [a.get("type") for a in scripts] == ["application/json", "module"]
    assert not any(tag == "img" for tag, _ in document.tags)
    island = document.scripts[0]
    assert "<" not in island
    assert ">" not in island
    assert document_text.lower().count("</script") == 2


def test_the_title_names_the_trace_and_is_escaped() -> None:
    trace, logs = _hostile_trace()
    trace["spans"][0]["operationName"] = "GET </title><b>bold</b>"
    document = render_trace_html(trace, logs)
    assert f"<title>Trace {trace['traceID']} GET &lt;/title&gt;&lt;b&gt;" in document
    assert "<b>" not in document


def test_the_export_is_self_contained() -> None:
    trace, logs = list_topics_trace(int(time.time() * 1e6))
    document = _parse(render_trace_html(trace, logs))
    references = [
        value
        for _, attrs in document.tags
        for name, value in attrs.items()
        if name in ("src", "href") and value is not None
    ]
    assert all(value.startswith("data:") for value in references), references
    module = document.scripts[1]
    assert "import " not in module.split("\n", 1)[0]
    assert not any(line.startswith(("import ", "export ")) for line in module.splitlines())


@pytest.mark.parametrize(
    "bad",
    [{}, {"traceID": "ab", "spans": []}, {"traceID": "ab", "spans": "nope"}],
)
def test_a_trace_without_spans_is_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="spans"):
        render_trace_html(bad, [])


def test_values_json_cannot_hold_are_refused() -> None:
    trace, logs = list_topics_trace(int(time.time() * 1e6))
    trace["spans"][0]["duration"] = float("nan")
    with pytest.raises(ValueError, match="JSON"):
        render_trace_html(trace, logs)


def _catalog(files: dict[str, str]) -> AssetCatalog:
    assets = {p: Asset(body.encode(), "text/javascript", '"x"') for p, body in files.items()}
    return AssetCatalog(assets=assets, version="0" * 12)


def test_the_bundle_puts_dependencies_first_and_strips_module_syntax() -> None:
    catalog = _catalog(
        {
            "js/main.js": 'import { twice } from "./b.js";\nconsole.log(twice(2));',
            "js/b.js": 'import { one } from "./c.js";\n'
            "export function twice(x) { return 2 * x * one; }",
            "js/c.js": "export const one = 1;",
        }
    )
    bundle = bundle_script(catalog)
    assert bundle.index("const one") < bundle.index("function twice") < bundle.index("console.log")
    assert "import" not in bundle
    assert "export" not in bundle


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {
                "js/main.js": 'import { a } from "./b.js";\nconst x = 1;',
                "js/b.js": "export const x = 2;",
            },
            "also declared",
        ),
        ({"js/main.js": 'import * as b from "./b.js";', "js/b.js": ""}, "unsupported import"),
        ({"js/main.js": "export default 1;"}, "unsupported export"),
        ({"js/main.js": 'import { a } from "./gone.js";'}, "missing"),
        ({"js/main.js": 'const s = "</script>";'}, "end its <script>"),
        (
            {
                "js/main.js": 'import { a } from "./b.js";',
                "js/b.js": 'import { m } from "./main.js";',
            },
            "cycle",
        ),
    ],
)
def test_the_bundle_refuses_files_that_break_its_rules(files: dict[str, str], message: str) -> None:
    with pytest.raises(AssetError, match=message):
        bundle_script(_catalog(files))
