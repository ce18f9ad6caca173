"""Make this machine ready for `make test` and `make bench`: the Debian packages the tests and
benchmarks run, and PostgreSQL up.

`make test` and `make bench` run it first. Idempotent and silent when everything is there;
otherwise it says in one line what it installs or starts, and on failure what to run by hand,
and exits 1. Standard library only: it runs before the virtual environment exists.

    python3 scripts/setup_test_machine.py
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

SETUP_COMMAND = "python3 scripts/setup_test_machine.py"
# Program the tests or benchmarks run -> the Debian package that provides it, and whether its
# recommended packages come too (Chromium needs its fonts; the servers need nothing more).
PROGRAMS = {
    "chromium": ("chromium", True),
    "openssl": ("openssl", True),
    "nginx": ("nginx", False),
    "prometheus": ("prometheus", False),
    "promtool": ("prometheus", False),
    # The JavaScript linters of `make lint` (tools/jslint, installed by npm ci).
    "node": ("nodejs", False),
    "npm": ("npm", False),
    # The C load generator of the benchmarks' workers and dispatch rows (benchmarks/wrk_load.py).
    "wrk": ("wrk", False),
}
POSTGRES = ("127.0.0.1", 5432)
POSTGRES_START_TIMEOUT_S = 30.0
_SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


class SetupError(Exception):
    """The machine cannot be made ready; the message says what to do."""


def which(program: str) -> str | None:
    return shutil.which(program) or shutil.which(program, path=_SYSTEM_PATH)


def missing_packages() -> dict[str, bool]:
    """Debian packages to install -> whether with recommends."""
    missing: dict[str, bool] = {}
    for program, (package, recommends) in PROGRAMS.items():
        if which(program) is None:
            missing[package] = recommends
    return missing


def _root_prefix() -> list[str]:
    if os.geteuid() == 0:
        return []
    if which("sudo") is not None:
        return ["sudo", "-n"]
    raise SetupError("not root and no sudo: run as root, " + SETUP_COMMAND)


def _run(command: list[str]) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        last = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:] or ["?"]
        raise SetupError(f"`{' '.join(command)}` failed: {last[0]}")


def install(missing: dict[str, bool]) -> None:
    if which("apt-get") is None:
        raise SetupError(f"no apt-get here: install {', '.join(missing)} by hand")
    prefix = _root_prefix()
    print(f"setup: installing {' '.join(sorted(missing))} (apt-get)", file=sys.stderr, flush=True)
    _run([*prefix, "apt-get", "update", "-q"])
    with_recommends = sorted(name for name, recommends in missing.items() if recommends)
    without = sorted(name for name, recommends in missing.items() if not recommends)
    if with_recommends:
        _run([*prefix, "apt-get", "install", "-y", "-q", *with_recommends])
    if without:
        _run([*prefix, "apt-get", "install", "-y", "-q", "--no-install-recommends", *without])
    still = [program for program in PROGRAMS if which(program) is None]
    if still:
        raise SetupError(f"still missing after apt-get install: {', '.join(still)}")


def postgres_accepts() -> bool:
    try:
        with socket.create_connection(POSTGRES, timeout=2):
            return True
    except OSError:
        return False


def ensure_postgres() -> None:
    if os.environ.get("ONEHUB_TEST_POSTGRES_URL") or postgres_accepts():
        return  # another server is named, or this one is up
    root = Path("/etc/postgresql")
    clusters = sorted(path.name for path in root.iterdir()) if root.is_dir() else []
    if not clusters or which("pg_ctlcluster") is None:
        raise SetupError(
            "PostgreSQL is not installed: apt-get install postgresql, with a trust-auth user "
            "postgres and a database test on 127.0.0.1:5432 (or set ONEHUB_TEST_POSTGRES_URL)"
        )
    print(f"setup: starting PostgreSQL {', '.join(clusters)}", file=sys.stderr, flush=True)
    for version in clusters:
        # "already running" is not a failure here; the wait below decides.
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
            capture_output=True,
            check=False,
            timeout=POSTGRES_START_TIMEOUT_S,
        )
    deadline = time.monotonic() + POSTGRES_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if postgres_accepts():
            return
        time.sleep(0.5)
    raise SetupError(f"PostgreSQL does not accept connections on {POSTGRES[0]}:{POSTGRES[1]}")


def main() -> int:
    try:
        missing = missing_packages()
        if missing:
            install(missing)
        ensure_postgres()
    except SetupError as error:
        print(f"setup: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
