"""Writers of one SQLite file in several processes take turns in order, not by luck.

SQLite's busy handler polls with growing sleeps (up to 100 ms): a writer of one process that
waits for another process's write sleeps through the moment the lock is free, while the other
process's next writer, already queued, takes it at once. Under load one process starves the
other (POST message p99 above 400 ms with two workers). So writers of engines made for several
workers first take an exclusive `flock` on a file beside the database, in a thread blocked in
the kernel: at each release the kernel wakes the waiting process at once, and the processes
alternate. The wait is bounded; a writer that gives up leaves the lock to be released by the
thread as soon as it is granted.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor


class _Ticket:
    def __init__(self) -> None:
        self.mutex = threading.Lock()
        self.granted = False
        self.abandoned = False


class SqliteWriterLock:
    """An exclusive lock shared by every process that opens `path`, held by one writer of this
    process at a time (the caller serialises its own writers)."""

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer-lock")
        weakref.finalize(self, _close, self._fd, self._thread)

    async def acquire(self, timeout_s: float) -> bool:
        """True once held; False if another process held it for `timeout_s`."""
        ticket = _Ticket()
        waiting = asyncio.get_running_loop().run_in_executor(self._thread, self._lock, ticket)
        try:
            await asyncio.wait_for(asyncio.shield(waiting), timeout_s)
        except BaseException as error:
            with ticket.mutex:
                if ticket.granted:
                    if isinstance(error, TimeoutError):
                        return True  # granted just as the wait ran out
                    self.release()
                else:
                    ticket.abandoned = True
            if isinstance(error, TimeoutError):
                return False
            raise
        return True

    def release(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _lock(self, ticket: _Ticket) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        with ticket.mutex:
            if ticket.abandoned:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            else:
                ticket.granted = True


def _close(fd: int, thread: ThreadPoolExecutor) -> None:
    thread.shutdown(wait=False)
    os.close(fd)
