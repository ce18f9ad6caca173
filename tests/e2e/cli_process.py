"""`onehub ...` as a child process, so that a server in the test's own event loop keeps
serving while the command talks to it."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any


def cli_env() -> dict[str, str]:
    """This process's environment without ONEHUB_* settings, so that only the command line
    (and what a test adds) configures the command."""
    return {k: v for k, v in os.environ.items() if not k.startswith("ONEHUB_")}


@asynccontextmanager
async def onehub_process(
    *args: str, stderr: Any = asyncio.subprocess.PIPE
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`onehub ARGS` with stdout (and, unless told otherwise, stderr) piped; killed on the way
    out if it is still running."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "onehub",
        *args,
        env=cli_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=stderr,
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def run_onehub(
    *args: str, timeout_s: float, stderr: Any = asyncio.subprocess.PIPE
) -> tuple[int, str, str]:
    """Run `onehub ARGS` to its end (killed after `timeout_s`, which fails the test) and
    return its exit status, stdout and stderr (empty if stderr was not piped)."""
    async with onehub_process(*args, stderr=stderr) as process:
        async with asyncio.timeout(timeout_s):
            out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), (err or b"").decode()
