"""The viewer's static assets, read once from the installed package.

The browser loads the ES modules one by one; an exported trace page cannot (browsers refuse module
imports from `file://`), so `bundle_script` joins them into one module script. That join is a
deliberately small transform that relies on a house rule for these files: every import is one
line of the form `import { a, b } from "./x.js";`, every export is `export` before a top-level
declaration, and top-level names are unique across files. A file breaking the rule raises
`AssetError` here rather than producing a page that fails in the browser.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

SHELL_TEMPLATE = "index.html"
ENTRY_MODULE = "js/main.js"

_MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".png": "image/png",
    ".woff2": "font/woff2",
}
_IMPORT = re.compile(r'^import \{ [\w$, ]+ \} from "\./([\w-]+\.js)";$')
_EXPORT = re.compile(r"^export (?=(?:async function|function|const|let|class) )")
_TOP_LEVEL_NAME = re.compile(r"^(?:export )?(?:async )?(?:function\*?|const|let|class) ([\w$]+)")


class AssetError(RuntimeError):
    """The packaged assets are missing or break the bundling rules (a packaging bug)."""


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


@dataclass(frozen=True, slots=True)
class AssetCatalog:
    """Every static file by its path under `static/` (e.g. `js/main.js`), plus a version that
    changes whenever any file does, used to give URLs that can be cached forever."""

    assets: Mapping[str, Asset]
    version: str

    def text(self, path: str) -> str:
        """Return the file at `path` as text; raise AssetError if it is not packaged."""
        asset = self.assets.get(path)
        if asset is None:
            raise AssetError(f"viewer asset {path!r} is missing from the package")
        return asset.body.decode("utf-8")


def _walk(folder: Traversable, prefix: str = "") -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for entry in folder.iterdir():
        if entry.name.startswith(".") or entry.name == "__pycache__":
            continue
        if entry.is_dir():
            files.update(_walk(entry, f"{prefix}{entry.name}/"))
        else:
            files[f"{prefix}{entry.name}"] = entry.read_bytes()
    return files


@functools.cache
def load_assets() -> AssetCatalog:
    """Read all static files once per process; raise AssetError if the folder is missing."""
    folder = resources.files(__package__ or "onehub_collector.web") / "static"
    if not folder.is_dir():
        raise AssetError("the viewer's static folder is missing from the package")
    files = _walk(folder)
    whole = hashlib.sha256()
    assets: dict[str, Asset] = {}
    for path in sorted(files):
        body = files[path]
        digest = hashlib.sha256(body).hexdigest()
        whole.update(path.encode() + b"\0" + digest.encode())
        suffix = path[path.rfind(".") :] if "." in path else ""
        media_type = _MEDIA_TYPES.get(suffix, "application/octet-stream")
        assets[path] = Asset(body=body, media_type=media_type, etag=f'"{digest[:20]}"')
    return AssetCatalog(assets=assets, version=whole.hexdigest()[:12])


def _module_order(catalog: AssetCatalog, entry: str) -> list[str]:
    order: list[str] = []
    visiting: set[str] = set()

    def visit(path: str) -> None:
        if path in order:
            return
        if path in visiting:
            raise AssetError(f"import cycle through {path}")
        visiting.add(path)
        folder = path.rsplit("/", 1)[0]
        for line in catalog.text(path).splitlines():
            if line.startswith("import "):
                match = _IMPORT.match(line)
                if match is None:
                    raise AssetError(f"{path}: unsupported import line {line!r}")
                visit(f"{folder}/{match.group(1)}")
        visiting.discard(path)
        order.append(path)

    visit(entry)
    return order


def bundle_script(catalog: AssetCatalog, entry: str = ENTRY_MODULE) -> str:
    """Join `entry` and everything it imports, dependencies first, into one module's source.

    Raise AssetError if a file breaks the rules in the module docstring, or if the result could
    close an inline <script> element early.
    """
    parts: list[str] = []
    declared: dict[str, str] = {}
    for path in _module_order(catalog, entry):
        lines = []
        for line in catalog.text(path).splitlines():
            if line.startswith("import "):
                continue
            name = _TOP_LEVEL_NAME.match(line)
            if name is not None:
                if name.group(1) in declared:
                    raise AssetError(
                        f"{path}: top-level name {name.group(1)!r} is also declared in "
                        f"{declared[name.group(1)]}"
                    )
                declared[name.group(1)] = path
            stripped = _EXPORT.sub("", line)
            if stripped.startswith("export "):
                raise AssetError(f"{path}: unsupported export line {line!r}")
            lines.append(stripped)
        parts.append(f"// ---- {path}\n" + "\n".join(lines))
    source = "\n".join(parts)
    if re.search(r"</script|<!--", source, re.IGNORECASE):
        raise AssetError("the bundled script contains text that would end its <script> element")
    return source
