"""One training job at a time across nodes that share nothing but the database (issue 20).

On SQLite (one machine, the embedded default) the lock is the file in the model folder,
:class:`ml.training.TrainingLock`, as before. With several web/worker nodes on one PostgreSQL and
no shared filesystem a file guards nothing, so there the lock is :class:`PostgresTrainingLock`:

* a session-level advisory lock (``pg_try_advisory_lock``) taken on a connection of its own and
  held for the whole job. This is what excludes: PostgreSQL grants it to one session at a time
  and drops it when that session ends, so a killed trainer (its connection dies with it) cannot
  keep it;
* a row in ``training_lock`` (token, host, pid, started_at, heartbeat_at), written in a
  transaction once the advisory lock is granted, heart-beaten by a timer thread while the job
  runs, deleted on release. It says who holds the lock (a refused trainer names them) and tells a
  dead holder from a live one that only lost its connection.

Taking the lock: the advisory lock refused -> :class:`LockHeldError` (the same exception the
file lock raises, so the job behaves the same). Granted -> any row left belongs to a job whose
database session is gone; it is taken over when its heartbeat is older than the stale limit
(``TRAINING_STALE_AFTER_SECONDS``) or its pid is dead on this host, as the lock file is. A row
with a fresh heartbeat from another node is respected (that job may only have lost its
connection: its heartbeat thread reconnects and takes the advisory lock back while the row still
carries its token), so the advisory lock is given back and :class:`LockHeldError` raised.

Timestamps in the row are the database's clock (UTC), so nodes with skewed clocks agree on ages.

The periodic scheduler's decision ("is a run due? queue one") is serialised across nodes by
:func:`lock_scheduling`, a transaction-level advisory lock: the run the first scheduler queues is
what every other scheduler then sees (storefront.training.scheduler).
"""
from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from ml.training.lock import LockHeldError, TrainingLock, process_alive
from storefront.extensions import db

__all__ = [
    "LOCK_NAME", "SCHEDULING_LOCK_KEY", "TRAINING_LOCK_KEY", "LockHeldError", "PostgresTrainingLock",
    "SchedulingBusy", "lock_scheduling", "training_lock",
]

log = logging.getLogger(__name__)

LOCK_NAME = "training"
#: Advisory lock keys (any bigint; fixed so every node uses the same ones).
TRAINING_LOCK_KEY = 0x73746F7265_01  # "store" + 1: the one training job
SCHEDULING_LOCK_KEY = 0x73746F7265_02  # "store" + 2: the scheduler's decision
DEFAULT_STALE_AFTER_SECONDS = 1800.0
#: A holder's heartbeat period: a quarter of the stale limit, at most this.
MAX_HEARTBEAT_SECONDS = 60.0
#: How long a scheduler waits for another node's decision (milliseconds: a decision is a few queries).
SCHEDULING_LOCK_TIMEOUT_MS = 30_000
_LOCK_NOT_AVAILABLE = "55P03"  # SQLSTATE of lock_timeout
_DESCRIBE_ATTEMPTS, _DESCRIBE_RETRY_SECONDS = 10, 0.05

_NOW = "timezone('UTC', clock_timestamp())"
_HOLDER = (f"SELECT token, host, pid, started_at, heartbeat_at, "
           f"extract(epoch FROM {_NOW} - heartbeat_at) AS silent_seconds "
           "FROM training_lock WHERE name = :name")
_READ = text(_HOLDER)
_READ_FOR_UPDATE = text(_HOLDER + " FOR UPDATE")
_TAKE = text(
    "INSERT INTO training_lock (name, token, host, pid, started_at, heartbeat_at) "
    f"VALUES (:name, :token, :host, :pid, {_NOW}, {_NOW}) "
    "ON CONFLICT (name) DO UPDATE SET token = excluded.token, host = excluded.host, pid = excluded.pid, "
    "started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at"
)
_BEAT = text(f"UPDATE training_lock SET heartbeat_at = {_NOW} WHERE name = :name AND token = :token")
_CLEAR = text("DELETE FROM training_lock WHERE name = :name AND token = :token")
_SET_LOCK_TIMEOUT = text("SELECT set_config('lock_timeout', :value, true)")  # true: this transaction only
_TRY_LOCK = text("SELECT pg_try_advisory_lock(:key)")
_UNLOCK = text("SELECT pg_advisory_unlock(:key)")


class SchedulingBusy(RuntimeError):
    """Another node's scheduler held the decision lock longer than ``SCHEDULING_LOCK_TIMEOUT_MS``."""


def training_lock(model_dir: str | os.PathLike[str],
                  stale_after_seconds: float = DEFAULT_STALE_AFTER_SECONDS) -> TrainingLock | PostgresTrainingLock:
    """The one-job-at-a-time lock for this app's database (in an app context): the PostgreSQL
    lock on PostgreSQL, the lock file in ``model_dir`` otherwise. Both are context managers with
    ``acquire()``/``release()``/``held``/``holder()`` and raise :class:`LockHeldError`."""
    engine = db.engine
    if engine.dialect.name == "postgresql":
        return PostgresTrainingLock(engine.url, stale_after_seconds=stale_after_seconds)
    return TrainingLock(Path(model_dir), stale_after_seconds=stale_after_seconds)


def lock_scheduling() -> None:
    """Serialise the caller's decision with every other node's until ``db.session``'s transaction
    ends (its commit or rollback releases it): a transaction-level advisory lock on PostgreSQL,
    waited for at most ``SCHEDULING_LOCK_TIMEOUT_MS`` (then :class:`SchedulingBusy`, the
    transaction rolled back). Nothing on SQLite: one machine, whose training lock file decides."""
    if db.engine.dialect.name != "postgresql":
        return
    try:
        previous = db.session.execute(text("SELECT current_setting('lock_timeout')")).scalar_one()
        db.session.execute(_SET_LOCK_TIMEOUT, {"value": f"{int(SCHEDULING_LOCK_TIMEOUT_MS)}ms"})
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEDULING_LOCK_KEY})
        db.session.execute(_SET_LOCK_TIMEOUT, {"value": previous})  # the rest of the transaction as before
    except OperationalError as error:
        db.session.rollback()
        if getattr(error.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
            raise SchedulingBusy("another scheduler held the scheduling lock for more than "
                                 f"{SCHEDULING_LOCK_TIMEOUT_MS / 1000:g} s; this tick is skipped") from None
        raise


class PostgresTrainingLock:
    """``with PostgresTrainingLock(url): ...`` runs the block as the only training job of every
    node on that database (see the module doc). ``host`` is what the row records (tests pose as
    another node with it); the pid check for a dead holder always uses this machine's name."""

    def __init__(self, url: str | URL, stale_after_seconds: float = DEFAULT_STALE_AFTER_SECONDS, *,
                 heartbeat_seconds: float | None = None, name: str = LOCK_NAME,
                 key: int = TRAINING_LOCK_KEY, host: str | None = None) -> None:
        if not stale_after_seconds > 0:
            raise ValueError("stale_after_seconds must be > 0")
        self.url = url
        self.stale_after_seconds = float(stale_after_seconds)
        self.heartbeat_seconds = float(heartbeat_seconds or min(self.stale_after_seconds / 4, MAX_HEARTBEAT_SECONDS))
        self.name, self.key = name, int(key)
        self.host = (host or socket.gethostname())[:128]
        self.lost = False  # set when another job took the lock over while this one held it
        self._token: str | None = None
        self._engine: Engine | None = None
        self._connection: Connection | None = None
        self._mutex = threading.Lock()  # the connection is shared with the heartbeat thread
        self._stop = threading.Event()
        self._beater: threading.Thread | None = None

    @property
    def held(self) -> bool:
        return self._token is not None

    def holder(self) -> dict[str, Any] | None:
        """The row of whoever holds the lock now (token, host, pid, started_at, heartbeat_at,
        silent_seconds), or None."""
        engine = self._new_engine()
        try:
            with engine.connect() as connection:
                row = connection.execute(_READ, {"name": self.name}).mappings().first()
                return dict(row) if row is not None else None
        finally:
            engine.dispose()

    # --- taking and giving back ------------------------------------------------------------

    def acquire(self) -> None:
        if self.held:
            raise RuntimeError("this PostgresTrainingLock is already held")
        engine = self._new_engine()
        connection = None
        try:
            connection = engine.connect()
            token = self._take(connection)
        except BaseException:
            if connection is not None:
                connection.close()  # a real close (NullPool): the advisory lock goes with it
            engine.dispose()
            raise
        self._engine, self._connection, self._token, self.lost = engine, connection, token, False
        self._stop.clear()
        self._beater = threading.Thread(target=self._beat_until_released, name="training-lock-heartbeat",
                                        daemon=True)
        self._beater.start()

    def _take(self, connection: Connection) -> str:
        """Take the advisory lock and the row on ``connection`` (committed); the token."""
        if not connection.execute(_TRY_LOCK, {"key": self.key}).scalar_one():
            raise LockHeldError(self._describe(self._holder_row(connection)))
        row = connection.execute(_READ_FOR_UPDATE, {"name": self.name}).mappings().first()
        if row is not None:
            reason = self.stale_reason(row)
            if reason is None:
                connection.rollback()
                raise LockHeldError(self._describe(row, session_gone=True))
            log.warning("taking over the training lock of pid %s on %s: %s", row["pid"], row["host"], reason)
        token = secrets.token_hex(8)
        connection.execute(_TAKE, {"name": self.name, "token": token, "host": self.host, "pid": os.getpid()})
        connection.commit()
        return token

    def _holder_row(self, connection: Connection) -> Any:
        """The holder's row, for the refusal: a holder between its advisory lock and its row's
        commit (or its release's two steps) is given a moment to show who it is."""
        for attempt in range(_DESCRIBE_ATTEMPTS):
            row = connection.execute(_READ, {"name": self.name}).mappings().first()
            connection.rollback()
            if row is not None or attempt == _DESCRIBE_ATTEMPTS - 1:
                return row
            time.sleep(_DESCRIBE_RETRY_SECONDS)

    def stale_reason(self, row: Any) -> str | None:
        """Why the row of a holder whose database session is gone may be taken over, or None if
        it must be respected (a fresh heartbeat from a job that may still be running)."""
        silent = float(row["silent_seconds"] or 0.0)
        if silent > self.stale_after_seconds:
            return f"no heartbeat for {silent:.0f} s (more than {self.stale_after_seconds:.0f} s)"
        if row["host"] == socket.gethostname() and not process_alive(int(row["pid"])):
            return f"pid {row['pid']} is not running"
        return None

    def release(self) -> None:
        """Delete the row if it is still ours and give the advisory lock back."""
        if not self.held:
            return
        self._stop.set()
        if self._beater is not None:
            self._beater.join(timeout=self.heartbeat_seconds + 30)
        with self._mutex:
            try:
                if self._connection is not None:
                    cleared = self._connection.execute(_CLEAR, {"name": self.name, "token": self._token}).rowcount
                    self._connection.commit()
                    if not cleared:
                        log.warning("the training lock was taken over by another job before this one released it")
                    self._connection.execute(_UNLOCK, {"key": self.key})
                    self._connection.commit()
            except SQLAlchemyError:
                log.warning("could not clear the training lock row on its connection; trying a new one",
                            exc_info=True)
                self._clear_on_a_new_connection()
            finally:
                self._close()
                self._token, self._beater = None, None

    def __enter__(self) -> "PostgresTrainingLock":
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()

    # --- the heartbeat ---------------------------------------------------------------------

    def _beat_until_released(self) -> None:
        while not self._stop.wait(self.heartbeat_seconds):
            with self._mutex:
                if self._token is None or self._stop.is_set():
                    return
                if not self.beat():
                    return

    def beat(self) -> bool:
        """Refresh the row's heartbeat (call with the mutex held); reconnect and take the
        advisory lock back if the connection broke. False once the lock is lost for good."""
        if self._connection is not None:
            try:
                beaten = self._connection.execute(_BEAT, {"name": self.name, "token": self._token}).rowcount
                self._connection.commit()
            except SQLAlchemyError:
                log.warning("training lock heartbeat failed; reconnecting", exc_info=True)
                self._drop_connection()
            else:
                if beaten:
                    return True
                return self._lose("its row now names another holder")
        return self._reconnect()

    def _reconnect(self) -> bool:
        assert self._engine is not None
        try:
            connection = self._engine.connect()
        except SQLAlchemyError:
            log.warning("training lock: the database is unreachable; retrying at the next heartbeat")
            return True
        try:
            granted = connection.execute(_TRY_LOCK, {"key": self.key}).scalar_one()
            beaten = granted and connection.execute(_BEAT, {"name": self.name, "token": self._token}).rowcount
            connection.commit()
        except SQLAlchemyError:
            connection.close()
            log.warning("training lock: reconnecting failed; retrying at the next heartbeat", exc_info=True)
            return True
        if beaten:
            self._connection = connection
            log.warning("training lock: reconnected and took the advisory lock back")
            return True
        connection.close()
        return self._lose("another job holds it now" if not granted else "its row now names another holder")

    def _lose(self, why: str) -> bool:
        self.lost = True
        log.error("this training job lost the training lock: %s", why)
        return False

    # --- plumbing --------------------------------------------------------------------------

    def _clear_on_a_new_connection(self) -> None:
        """Delete our row when our own connection broke (it would name a live pid until stale)."""
        assert self._engine is not None
        try:
            with self._engine.begin() as connection:
                connection.execute(_CLEAR, {"name": self.name, "token": self._token})
        except SQLAlchemyError:
            log.warning("could not clear the training lock row; it goes stale in %.0f s",
                        self.stale_after_seconds, exc_info=True)

    def _new_engine(self) -> Engine:
        # NullPool: closing the connection really closes the session, and the advisory lock with it.
        return create_engine(self.url, poolclass=NullPool, pool_pre_ping=False,
                             connect_args={"application_name": "storefront training lock"})

    def _drop_connection(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except SQLAlchemyError:
                pass
            self._connection = None

    def _close(self) -> None:
        self._drop_connection()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def _describe(self, row: Any, session_gone: bool = False) -> str:
        if row is None:
            return ("a training job is already running: it is starting or finishing "
                    "(the PostgreSQL training lock is held, no holder recorded)")
        since = row["started_at"]
        when = f"{since:%Y-%m-%d %H:%M:%S} UTC" if since is not None else "?"
        silent = float(row["silent_seconds"] or 0.0)
        text_ = (f"a training job is already running: pid {row['pid']} on host {row['host']} since {when} "
                 f"(last heartbeat {silent:.0f} s ago; PostgreSQL training lock)")
        if session_gone:
            text_ += (f"; its database session is gone: it is taken over once its heartbeat is older than "
                      f"{self.stale_after_seconds:.0f} s")
        return text_
