"""Programs the tests run, installed from their Debian packages when a machine lacks them.

A missing program is installed, never a reason to skip: if apt-get fails, the test fails.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

# Serialises apt-get between parallel test workers (dpkg allows one at a time).
_APT_LOCK = Path("/tmp/onehub-tests-apt.lock")
_SYSTEM_PATH = "/usr/sbin:/usr/bin"


def _which(name: str) -> Path | None:
    found = shutil.which(name) or shutil.which(name, path=_SYSTEM_PATH)
    return Path(found) if found else None


def require_program(name: str, package: str | None = None, *, recommends: bool = True) -> Path:
    """The path of `name`, installing Debian's `package` (default: `name`) first if missing."""
    found = _which(name)
    if found is not None:
        return found
    package = package or name
    with _APT_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = _which(name)
        if found is None:
            sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            install = ["apt-get", "install", "-y", "-q", package]
            if not recommends:
                install.insert(3, "--no-install-recommends")
            for command in (["apt-get", "update", "-q"], install):
                subprocess.run([*sudo, *command], check=True, env=env, capture_output=True)
            found = _which(name)
    assert found is not None, f"{name} still missing after installing {package}"
    return found
