"""One trace as one self-contained HTML file that opens from disk, with no server and no network.

The viewer's own script and styles are inlined, and the trace travels as JSON inside a
`<script type="application/json">` element. Every `<`, `>` and `&` in that JSON is written as a
`\\u003c`-style escape, which JSON.parse reads back unchanged, so no attribute value, log body
or span name can close the element and inject markup.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

from onehub_collector.web.assets import AssetError, bundle_script, load_assets

EMBEDDED_ELEMENT_ID = "onehub-embedded"
_JSON_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def embed_json(value: object) -> str:
    """Serialise `value` for a `<script type="application/json">` body; raise ValueError if it
    is not JSON-serialisable."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"trace is not JSON-serialisable: {error}") from error
    # U+2028/2029 are legal in JSON and in script data, but escaping them costs nothing.
    return text.translate(_JSON_ESCAPES).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _title(trace: Mapping[str, Any]) -> str:
    spans = trace.get("spans") or []
    operation = next(
        (s.get("operationName", "") for s in spans if not s.get("references")),
        spans[0].get("operationName", "") if spans else "",
    )
    return f"Trace {trace.get('traceID', '')} {operation} · OneHub"


def render_trace_html(
    trace: dict[str, Any],
    logs: list[dict[str, Any]],
    *,
    findings: Sequence[Mapping[str, Any]] = (),
) -> str:
    """Return one HTML document showing `trace` (a Jaeger JSON trace object) and its `logs`
    (the x/traces/{id}/logs records) offline: timeline, span detail, logs and any `findings`.

    Raise ValueError if `trace` has no spans or holds values JSON cannot represent.
    """
    if (
        not isinstance(trace, dict)
        or not isinstance(trace.get("spans"), list)
        or not trace["spans"]
    ):
        raise ValueError("a trace to export needs a non-empty 'spans' list")
    catalog = load_assets()
    payload = embed_json({"trace": trace, "logs": logs, "findings": list(findings)})
    css = catalog.text("viewer.css")
    if "</style" in css.lower():
        raise AssetError("viewer.css contains text that would end its <style> element")
    script = bundle_script(catalog)
    return (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(_title(trace))}</title>\n"
        '<link rel="icon" href="data:,">\n'
        f"<style>\n{css}\n</style>\n</head>\n"
        '<body data-mode="offline">\n<main id="app" tabindex="-1"></main>\n'
        f'<script type="application/json" id="{EMBEDDED_ELEMENT_ID}">{payload}</script>\n'
        f'<script type="module">\n{script}\n</script>\n'
        "</body>\n</html>\n"
    )
