"""At most one training job at a time, with a lock that a crashed job cannot leave forever.

The lock is a file created with ``O_CREAT | O_EXCL`` (atomic on local filesystems: exactly one
creator wins) holding the owner's pid, hostname, start time and a random token. A lock is stale,
and may be taken over, when it is older than ``stale_after_seconds`` or when its pid is dead on
this host (a crashed or killed job). Breaking a stale lock is itself serialised by a short-lived
second ``O_EXCL`` file and re-checks the lock's content under it, so two processes that both
judge a lock stale cannot both end up "holding" it. Release removes the file only if it still
carries this holder's token.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import time
from pathlib import Path
from types import TracebackType

from ml.artifacts import LOCK_FILE

__all__ = ["LOCK_FILE", "LockHeldError", "TrainingLock", "process_alive"]

log = logging.getLogger(__name__)

_BREAK_SUFFIX = ".break"
#: An unreadable lock (its writer died between create and write) is stale after this long.
_UNREADABLE_GRACE_SECONDS = 30.0
#: A breaker that died while holding the break file is ignored after this long.
_BREAK_GRACE_SECONDS = 60.0
_ATTEMPTS, _RETRY_SLEEP = 20, 0.05


class LockHeldError(RuntimeError):
    """Another training job holds the lock."""


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (signal 0: nothing is sent).

    False for a pid that is not running (a finished and reaped process) and for ``pid <= 0``;
    True for a live process, including one owned by another user. Only meaningful for pids of
    this host: callers compare the recorded hostname first.
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: it exists, it is just not ours
        return True
    return True


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def _age(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


class TrainingLock:
    """``with TrainingLock(model_dir): ...`` runs the block as the only training job.

    ``acquire()`` raises :class:`LockHeldError` (saying who holds it, where and since when) when
    a live job holds the lock; it takes over a stale one (see the module doc).
    """

    def __init__(self, model_dir: str | os.PathLike[str], stale_after_seconds: float = 6 * 3600):
        if not stale_after_seconds > 0:
            raise ValueError("stale_after_seconds must be > 0")
        self.path = Path(model_dir) / LOCK_FILE
        self.stale_after_seconds = float(stale_after_seconds)
        self._token: str | None = None

    @property
    def held(self) -> bool:
        return self._token is not None

    def holder(self) -> dict | None:
        """The current lock file's content (pid, hostname, started_at), if readable."""
        return self._parse(_read(self.path))

    def stale_reason(self, text: str | None) -> str | None:
        """Why the lock with content ``text`` may be broken, or None if it must be respected."""
        try:
            info = json.loads(text) if text else None
            started, pid, host = float(info["started_at"]), int(info["pid"]), str(info["hostname"])
        except (ValueError, TypeError, KeyError):
            grace = min(self.stale_after_seconds, _UNREADABLE_GRACE_SECONDS)
            return "unreadable lock file" if _age(self.path) > grace else None
        if time.time() - started > self.stale_after_seconds:
            return f"older than {self.stale_after_seconds:.0f} s"
        if host == socket.gethostname() and not process_alive(pid):
            return f"pid {pid} is not running"
        return None

    def acquire(self) -> None:
        if self.held:
            raise RuntimeError("this TrainingLock is already held")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(_ATTEMPTS):
            if self._create():
                return
            text = _read(self.path)
            if text is None:
                continue  # released in the meantime: try again
            reason = self.stale_reason(text)
            if reason is None:
                raise LockHeldError(self._describe(text))
            if not self._break(text, reason):
                time.sleep(_RETRY_SLEEP)
        raise LockHeldError(f"could not take the training lock {self.path} (contended)")

    def _create(self) -> bool:
        token = secrets.token_hex(8)
        content = {
            "pid": os.getpid(),
            "hostname": socket.gethostname(),
            "started_at": time.time(),
            "token": token,
        }
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(content, handle)
            handle.flush()
            os.fsync(handle.fileno())
        self._token = token
        return True

    def _break(self, stale_text: str, reason: str) -> bool:
        """Remove the lock if it still holds ``stale_text``; False if another breaker is busy."""
        guard = self.path.with_name(self.path.name + _BREAK_SUFFIX)
        try:
            os.close(os.open(guard, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except FileExistsError:
            if _age(guard) > _BREAK_GRACE_SECONDS:
                guard.unlink(missing_ok=True)
            return False
        try:
            if _read(self.path) == stale_text:
                log.warning("breaking stale training lock %s (%s)", self.path, reason)
                self.path.unlink(missing_ok=True)
        finally:
            guard.unlink(missing_ok=True)
        return True

    @staticmethod
    def _parse(text: str | None) -> dict | None:
        try:
            info = json.loads(text) if text else None
        except ValueError:
            return None
        return info if isinstance(info, dict) else None

    def _describe(self, text: str) -> str:
        info = self._parse(text) or {}
        since = info.get("started_at")
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(since)) if since else "?"
        return (
            f"a training job is already running: pid {info.get('pid', '?')} on host "
            f"{info.get('hostname', '?')} since {when} (lock file {self.path})"
        )

    def release(self) -> None:
        """Remove the lock if it is still ours (a taken-over lock is left to its new owner)."""
        if not self.held:
            return
        info = self.holder()
        if info is not None and info.get("token") == self._token:
            self.path.unlink(missing_ok=True)
        else:
            log.warning("training lock %s was taken over by another job", self.path)
        self._token = None

    def __enter__(self) -> "TrainingLock":
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
