"""The README cannot drift from the commands it documents."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_readme_opens_with_the_two_commands() -> None:
    first_block = README.split("```")[1]
    assert "make run" in first_block
    assert "make test" in first_block


def test_makefile_has_the_documented_targets() -> None:
    makefile = (ROOT / "Makefile").read_text()
    for target in ("run", "test", "lint", "gen", "bench"):
        assert re.search(rf"^{target}:", makefile, re.M), target
        assert f"make {target}" in README, target


def test_ci_runs_make_test() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_serve_help_in_readme_is_current() -> None:
    help_text = subprocess.run(
        [sys.executable, "-m", "onehub", "serve", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "100"},
    ).stdout
    documented = README.split("<!-- serve-help:start -->\n```\n")[1].split(
        "```\n<!-- serve-help:end -->"
    )[0]
    assert documented == help_text, "update the README: `COLUMNS=100 onehub serve --help`"


def test_collector_readme_names_every_flag_and_environment_twin() -> None:
    help_text = subprocess.run(
        [sys.executable, "-m", "onehub_collector", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    readme = (ROOT / "collector" / "README.md").read_text()
    flags = set(re.findall(r"--[a-z][a-z-]+", help_text)) - {"--help"}
    twins = set(re.findall(r"\bONEHUB_[A-Z_]+", help_text))
    assert len(flags) >= 6, help_text
    assert len(twins) == len(flags), help_text
    missing = sorted(name for name in flags | twins if f"`{name}" not in readme)
    assert missing == [], f"collector/README.md does not document {missing}"


# Files the project's own text lives in (code, comments, docs); vendored and generated files and
# this file (which names the patterns) are not the project's words.
_TEXT_SUFFIXES = (".py", ".js", ".md", ".html", ".css", ".toml", ".yaml", ".yml", ".sh")
_OUTSIDE_POINTERS = re.compile(
    r"\bissue\s+#?[0-9]+|\.\./shared/|\bshared/[\w-]+\.md|\bthe spec\b|\bspec's\b"
    r"|may not exist yet|\bthe issues?\b",
    re.IGNORECASE,
)
_DOCUMENT_NAME = re.compile(r"(?<![\w/.-])([\w-]+\.md)\b")


def _project_text_files() -> list[Path]:
    tracked = ["src", "tests", "benchmarks", "docs", "deploy", "collector", "README.md"]
    listed = subprocess.run(
        ["git", "ls-files", *tracked],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [
        ROOT / name
        for name in listed
        if name.endswith(_TEXT_SUFFIXES)
        and "/gen/" not in name
        and "/vendor/" not in name
        and not name.endswith((".min.js", "tests/test_docs.py"))
        and (ROOT / name).is_file()
    ]


def test_the_project_points_at_no_document_outside_it() -> None:
    documents = {path.name for path in ROOT.rglob("*.md") if "node_modules" not in path.parts}
    offenders = []
    for path in _project_text_files():
        text = path.read_text(errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            where = f"{path.relative_to(ROOT)}:{number}"
            offenders += [f"{where}: {hit.group(0)}" for hit in _OUTSIDE_POINTERS.finditer(line)]
            offenders += [
                f"{where}: {name} is not in the repository"
                for name in _DOCUMENT_NAME.findall(line)
                if name not in documents
            ]
    assert offenders == [], "\n".join(offenders)


def test_the_limits_documented_in_the_api_guide_are_the_codes() -> None:
    from onehub.domain.limits import (
        MAX_CONTENT_BYTES,
        MAX_JSON_DEPTH,
        MAX_MEMBER_ID_BYTES,
        MAX_PROFILE_DATA_BYTES,
        MAX_TOPIC_MEMBERS,
    )
    from onehub.services.ids import MAX_BATCH_SIZE, MAX_ID_LENGTH, MAX_NAME_LENGTH
    from onehub.services.users import MAX_AVATAR_LENGTH

    guide = (ROOT / "docs" / "api.md").read_text()
    table = guide.split("## Limits")[1].split("\n\n")[2]
    rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ")[1] for line in table.splitlines()}
    assert rows["a message's content"].startswith(f"{MAX_CONTENT_BYTES // 1024} KiB")
    assert rows["a user's `profile_data`"] == f"{MAX_PROFILE_DATA_BYTES // 1024} KiB"
    assert rows["nesting of `content_data`, `profile_data`"] == f"{MAX_JSON_DEPTH} levels"
    assert rows["a topic's members (`users`)"] == (
        f"{MAX_TOPIC_MEMBERS:,} members, and {MAX_MEMBER_ID_BYTES // 1024} KiB of ids"
    )
    assert rows["ids given at once (`add_users`, `remove_users`, `users`, `batchGet` ids)"] == (
        f"{MAX_BATCH_SIZE:,}"
    )
    assert rows["user name, topic name, `content_type`"] == f"{MAX_NAME_LENGTH} characters"
    assert rows["avatar"] == f"{MAX_AVATAR_LENGTH:,} characters"
    assert rows["any id"] == f"{MAX_ID_LENGTH} characters"
