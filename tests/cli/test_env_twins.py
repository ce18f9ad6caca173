"""Every flag of `onehub serve` and `onehub collector` has an environment twin that works.

The tests walk the real argument parsers, so a flag added without a twin (or with a twin that is
named in the help but never read) fails here. For each flag: the variable its help names, set to
a sample value, must give the same settings as the flag with that value, and not the defaults.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from onehub.cli.main import build_parser, main
from onehub.config import settings_from_args
from onehub_collector.cli import build_parser as build_collector_parser
from onehub_collector.cli import config_from_args

TWIN = re.compile(r"\benv ([A-Z][A-Z0-9_]+)")

# A valid value for each flag that differs from its default. A new flag needs a line here.
SERVE_SAMPLES = {
    "--addr": "127.0.0.1:9100",
    "--gw-addr": "127.0.0.1:9180",
    "--db-endpoint": "sqlite:///elsewhere.db",
    "--collector": "none",
    "--otlp-grpc-addr": "127.0.0.1:14317",
    "--otlp-http-addr": "127.0.0.1:14318",
    "--ui-addr": "127.0.0.1:26686",
    "--auth": "password",
    "--collector-config": "pipeline.yaml",
    "--viewer-url": "/jaeger",
    "--max-body-bytes": "2048",
    "--grace-seconds": "0.5",
    "--log-level": "DEBUG",
    "--allowed-hosts": "chat.example.com",
    "--max-in-flight": "7",
    "--fault": "n-plus-one",
    "--workers": "2",
    "--gateway-dispatch": "in-process",
    "--loop": "asyncio",
}
COLLECTOR_SAMPLES = {
    "--otlp-grpc-addr": "127.0.0.1:14317",
    "--otlp-http-addr": "127.0.0.1:14318",
    "--ui-addr": "127.0.0.1:26686",
    "--data-dir": "elsewhere/collector",
    "--allowed-hosts": "chat.example.com",
    # --config: a file written by the test (see _collector_sample).
}
# Boolean flags: the twin's value meaning "given".
TRUE = "true"


def _serve_parser() -> argparse.ArgumentParser:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            serve: argparse.ArgumentParser = action.choices["serve"]
            return serve
    raise AssertionError("onehub has no serve command")


def _flags(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    # Hidden flags (help=SUPPRESS) are protocols between OneHub's own processes, not settings.
    return [
        action
        for action in parser._actions
        if action.option_strings and action.dest != "help" and action.help != argparse.SUPPRESS
    ]


def _twin(action: argparse.Action) -> str:
    help_text = " ".join((action.help or "").split())
    found = TWIN.search(help_text)
    assert found, f"{action.option_strings[0]}: its help names no environment twin ('env NAME')"
    return found.group(1)


def _argv_and_env(action: argparse.Action, sample: str) -> tuple[list[str], str]:
    flag = action.option_strings[0]
    if action.nargs == 0:  # store_true
        return [flag], TRUE
    return [flag, sample], sample


SERVE_FLAGS = [action.option_strings[0] for action in _flags(_serve_parser())]
COLLECTOR_FLAGS = [action.option_strings[0] for action in _flags(build_collector_parser())]


def test_the_walk_sees_every_flag() -> None:
    # Fourteen flags at the time of writing: the walk is not vacuous.
    assert len(SERVE_FLAGS) >= 14
    assert len(COLLECTOR_FLAGS) == 6


@pytest.mark.parametrize("flag", SERVE_FLAGS)
def test_every_serve_flag_has_a_working_twin(flag: str) -> None:
    parser = _serve_parser()
    action = next(a for a in _flags(parser) if a.option_strings[0] == flag)
    twin = _twin(action)
    assert flag in SERVE_SAMPLES or action.nargs == 0, f"add a sample value for {flag} above"
    argv, value = _argv_and_env(action, SERVE_SAMPLES.get(flag, ""))
    defaults = settings_from_args(parser.parse_args([]), {})
    from_flag = settings_from_args(parser.parse_args(argv), {})
    from_twin = settings_from_args(parser.parse_args([]), {twin: value})

    assert from_flag != defaults, f"{flag} {value!r} changed nothing"
    assert from_twin == from_flag, f"{twin}={value!r} is not the same as {flag}"
    # The flag wins over its twin.
    if action.nargs != 0:
        assert settings_from_args(parser.parse_args(argv), {twin: "ignored"}) == from_flag


@pytest.mark.parametrize("flag", COLLECTOR_FLAGS)
def test_every_collector_flag_has_a_working_twin(flag: str, tmp_path: Path) -> None:
    parser = build_collector_parser()
    action = next(a for a in _flags(parser) if a.option_strings[0] == flag)
    twin = _twin(action)
    if flag == "--config":
        sample = str(tmp_path / "collector.yaml")
        Path(sample).write_text(
            "receivers: {otlp: {protocols: {grpc: {endpoint: '127.0.0.1:24317'}}}}\n"
            "exporters: {onehub_store: {}}\n"
            "service: {pipelines: {traces: {receivers: [otlp], exporters: [onehub_store]}}}\n"
        )
    else:
        assert flag in COLLECTOR_SAMPLES, f"add a sample value for {flag} above"
        sample = COLLECTOR_SAMPLES[flag]
    argv, value = _argv_and_env(action, sample)
    defaults = config_from_args(parser.parse_args([]), {})
    from_flag = config_from_args(parser.parse_args(argv), {})
    from_twin = config_from_args(parser.parse_args([]), {twin: value})

    assert from_flag != defaults, f"{flag} {value!r} changed nothing"
    assert from_twin == from_flag, f"{twin}={value!r} is not the same as {flag}"


def test_force_dev_auth_twin_allows_dev_auth_on_a_public_address() -> None:
    parser = _serve_parser()
    env = {"ONEHUB_ADDR": "0.0.0.0:9000", "ONEHUB_FORCE_DEV_AUTH": "true"}
    assert settings_from_args(parser.parse_args([]), env).force_dev_auth is True


def test_workers_auto_is_one_per_core_this_process_may_use() -> None:
    parser = _serve_parser()
    cores = len(os.sched_getaffinity(0))
    assert settings_from_args(parser.parse_args(["--workers", "auto"]), {}).workers == cores
    assert settings_from_args(parser.parse_args([]), {"ONEHUB_WORKERS": "AUTO"}).workers == cores
    assert settings_from_args(parser.parse_args([]), {}).workers == 1


def test_the_originals_collector_variable_still_names_the_collector() -> None:
    parser = _serve_parser()
    env = {"OTEL_COLLECTOR_ADDR": "jaeger:4317"}
    assert settings_from_args(parser.parse_args([]), env).collector == "jaeger:4317"
    env["ONEHUB_COLLECTOR"] = "none"
    assert settings_from_args(parser.parse_args([]), env).collector == "none"


@pytest.mark.parametrize(
    ("variable", "value", "line"),
    [
        ("ONEHUB_MAX_BODY_BYTES", "abc", "onehub: ONEHUB_MAX_BODY_BYTES: 'abc' is not an integer"),
        ("ONEHUB_MAX_BODY_BYTES", "0", "onehub: --max-body-bytes must be positive"),
        ("ONEHUB_GRACE_SECONDS", "soon", "onehub: ONEHUB_GRACE_SECONDS: 'soon' is not a number"),
        (
            "ONEHUB_LOG_LEVEL",
            "loud",
            "onehub: ONEHUB_LOG_LEVEL: 'loud' is not one of DEBUG, INFO, WARNING, ERROR",
        ),
        ("ONEHUB_AUTH", "magic", "onehub: ONEHUB_AUTH: 'magic' is not one of dev, password"),
        (
            "ONEHUB_FORCE_DEV_AUTH",
            "maybe",
            "onehub: ONEHUB_FORCE_DEV_AUTH: 'maybe' is not true or false",
        ),
        ("ONEHUB_UI_ADDR", "nowhere", "onehub: ui_addr: 'nowhere' is not host:port"),
        ("ONEHUB_WORKERS", "many", "onehub: ONEHUB_WORKERS: 'many' is not an integer or auto"),
        ("ONEHUB_WORKERS", "0", "onehub: --workers must be positive"),
        (
            "ONEHUB_GATEWAY_DISPATCH",
            "carrier-pigeon",
            "onehub: ONEHUB_GATEWAY_DISPATCH: 'carrier-pigeon' is not one of network, in-process",
        ),
    ],
)
def test_a_bad_twin_is_one_line_and_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
    line: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(variable, value)

    assert main(["serve"]) == 2
    assert capsys.readouterr().err.strip() == line
    assert not (tmp_path / ".data").exists()  # nothing started


def test_a_bad_twin_in_a_real_shell(tmp_path: Path) -> None:
    # What a user who exported the variable sees: one line, exit 2, nothing started.
    result = subprocess.run(
        [sys.executable, "-m", "onehub", "serve"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "ONEHUB_MAX_BODY_BYTES": "abc"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "onehub: ONEHUB_MAX_BODY_BYTES: 'abc' is not an integer\n"
    assert not (tmp_path / ".data").exists()
