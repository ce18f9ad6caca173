"""`make lint`'s JavaScript step (tools/jslint: ESLint and TypeScript's checker over the chat
page's and the viewer's ES modules) passes on the tree and fails on a module with a mistake.

The broken copies go to a temporary tree laid out like the repository, checked with the same
configuration files, so the real sources are never touched."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.debian_packages import require_program

ROOT = Path(__file__).resolve().parents[2]
JSLINT = ROOT / "tools" / "jslint"
CHAT_JS = Path("src/onehub/web/static/js")
VIEWER_JS = Path("collector/src/onehub_collector/web/static/js")


def _bin(name: str) -> str:
    require_program("node")
    path = JSLINT / "node_modules" / ".bin" / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make lint` (npm ci in tools/jslint)", pytrace=False)
    return str(path)


def _eslint(root: Path) -> subprocess.CompletedProcess[str]:
    config = JSLINT / "eslint.config.js"
    args = [_bin("eslint"), "--config", str(config), str(CHAT_JS), str(VIEWER_JS)]
    return subprocess.run(args, cwd=root, capture_output=True, text=True, timeout=120)


def _tsc(root: Path) -> subprocess.CompletedProcess[str]:
    # The real jsconfig.json, with the module list (and the folders that the chat app serves as
    # one, for its h.js) pointed at the copy.
    folders = [str(root / CHAT_JS), str(root / VIEWER_JS)]
    config = root / "jsconfig.json"
    config.write_text(
        json.dumps(
            {
                "extends": str(JSLINT / "jsconfig.json"),
                "compilerOptions": {"rootDirs": folders},
                "include": [f"{folder}/*.js" for folder in folders],
            }
        )
    )
    args = [_bin("tsc"), "-p", str(config)]
    return subprocess.run(args, cwd=root, capture_output=True, text=True, timeout=120)


def _copy_modules(tmp_path: Path) -> Path:
    for folder in (CHAT_JS, VIEWER_JS):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("vendor"))
    return tmp_path


def _break(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path.name} no longer contains {old!r}: pick another mistake"
    path.write_text(text.replace(old, new, 1))


def test_the_modules_pass_the_lint_step() -> None:
    result = subprocess.run(
        ["npm", "--prefix", str(JSLINT), "run", "--silent", "lint"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_eslint_fails_on_an_undefined_name(tmp_path: Path) -> None:
    root = _copy_modules(tmp_path)
    assert _eslint(root).returncode == 0
    _break(root / VIEWER_JS / "h.js", "document.createElement(tag)", "documnet.createElement(tag)")
    result = _eslint(root)
    assert result.returncode == 1
    assert "h.js" in result.stdout
    assert "'documnet' is not defined" in result.stdout


def test_eslint_leaves_the_vendored_bundle_alone(tmp_path: Path) -> None:
    root = _copy_modules(tmp_path)
    vendor = root / CHAT_JS / "vendor"
    vendor.mkdir()
    (vendor / "bundle.min.js").write_text("var a=b;")
    assert _eslint(root).returncode == 0


def test_the_type_check_fails_on_a_misspelt_dom_method(tmp_path: Path) -> None:
    # ESLint cannot see this one: the name exists, the method does not.
    root = _copy_modules(tmp_path)
    assert _tsc(root).returncode == 0
    _break(
        root / VIEWER_JS / "util.js", "document.body.append(link);", "document.body.apend(link);"
    )
    result = _tsc(root)
    assert result.returncode != 0
    assert "util.js" in result.stdout
    assert "Property 'apend' does not exist" in result.stdout
