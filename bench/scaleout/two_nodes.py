"""Two web nodes that share nothing but PostgreSQL, on one machine (issue 20's simulation).

A throw-away shop in a fresh PostgreSQL database (``flask db upgrade``, ``flask shop seed`` with
the tests' small sizes), two gunicorn instances serving it (separate processes, each with its
own ``MODEL_DIR`` cache, ``MODEL_STORE=postgresql``, ``MODEL_CHECK_INTERVAL`` of 1 s) and
``flask ml train`` run from further processes with caches of their own, exactly as separate
machines would: the only thing they share is the database URL. Everything is observed from
outside: which version a node serves is what its ``/readyz`` answers (``checks.model.serving``,
the version its worker has loaded) and what a recommendation answer carries (``model_version``
of ``/api/v1/recommendations/item/<id>``).

- :class:`TwoNodes`: the shop, its nodes, trainers, the pointer row and the training lock as
  the database shows them, and :meth:`TwoNodes.follow`, which times a published version's way to
  every node (from the pointer's ``activated_at`` to the first answer naming it).
- ``tests/storefront/scaleout/test_two_nodes.py`` drives it: propagation of two runs, a killed
  trainer's lock taken over, a second concurrent trainer refused.

Runnable by itself to watch it: ``PYTHONPATH=. .venv/bin/python bench/scaleout/two_nodes.py`` builds the
shop, starts both nodes, trains twice and prints how long each version took to reach each node;
``--serve`` then keeps the nodes up (their URLs and a trainer's environment are printed) until
Ctrl-C. ``--server`` names the PostgreSQL server (default ``TEST_DATABASE_URL``'s, else
postgresql://postgres@127.0.0.1:5432); the scratch database (``s20d_twonodes_*``) is dropped at the end.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from bench.live_gunicorn import BIN, ROOT, UA, LiveGunicorn, flask

LOCAL_SERVER = "postgresql://postgres@127.0.0.1:5432"
#: ``flask shop seed`` arguments: tests/storefront/support/recommendations.py SMALL_SHOP's sizes.
SMALL_SEED = ["--products", "120", "--categories", "8", "--customers", "150", "--anonymous", "80",
              "--events", "12000", "--days", "40", "--end-date", "2026-01-01", "--b2b-visitors", "0"]
#: Every process of the simulation: cheap training (no torch, no click model, a 1 s search).
SETTINGS = {
    "STOREFRONT_CONFIG": "development", "MODEL_STORE": "postgresql", "TRAINING_DEEP_MODELS": "0",
    "CTR_ENABLED": "0", "TRAINING_TIME_BUDGET_SECONDS": "1", "TRAINING_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1", "RATELIMIT_ENABLED": "0", "LOG_LEVEL": "info",
}
#: Advisory lock key of the training lock (storefront.training.coordination.TRAINING_LOCK_KEY).
TRAINING_LOCK_KEY = 0x73746F7265_01


def server_url() -> str:
    """The PostgreSQL server to use: TEST_DATABASE_URL's (any database on it), else the local one."""
    given = os.environ.get("TEST_DATABASE_URL", "")
    if given.startswith("postgres"):
        return make_url(given).set(database="postgres").render_as_string(hide_password=False)
    return LOCAL_SERVER + "/postgres"


def server_problem(url: str) -> str | None:
    """Why the server does not answer (None when it does)."""
    engine = create_engine(_driver(url), poolclass=NullPool, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            return None
    except Exception as error:  # noqa: BLE001 - whatever the driver says is the reason
        return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    finally:
        engine.dispose()


def _driver(url: str) -> str:
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False) \
        if parsed.drivername == "postgresql" else url


def create_scratch_database(admin_url: str, prefix: str = "s20d_twonodes") -> str:
    name = f"{prefix}_{secrets.token_hex(3)}"
    engine = create_engine(_driver(admin_url), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    parsed = make_url(url)
    admin = parsed.set(database="postgres").render_as_string(hide_password=False)
    engine = create_engine(_driver(admin), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    engine.dispose()


@dataclass
class Propagation:
    """A version's way to the nodes: seconds from the pointer's ``activated_at`` to each node's
    first answer naming it (None: not within the wait)."""
    version: str
    activated_at: datetime
    seen_after: dict[str, float | None] = field(default_factory=dict)

    @property
    def all_seen(self) -> bool:
        return all(seconds is not None for seconds in self.seen_after.values())

    @property
    def slowest(self) -> float | None:
        return max(self.seen_after.values()) if self.all_seen else None

    def describe(self) -> str:
        nodes = ", ".join(f"{name} {'-' if s is None else f'{s:.2f} s'}" for name, s in self.seen_after.items())
        return f"version {self.version}: activated -> serving on {nodes}"


class TwoNodes:
    """The simulated deployment in ``folder``; ``database_url`` must name an empty database."""

    def __init__(self, folder: Path, database_url: str, check_interval: float = 1.0, workers: int = 1,
                 nodes: tuple[str, ...] = ("node-a", "node-b")) -> None:
        self.folder, self.database_url = Path(folder), database_url
        self.check_interval, self.workers = check_interval, workers
        self.node_names = nodes
        self.nodes: dict[str, LiveGunicorn] = {}
        self.engine = create_engine(_driver(database_url), poolclass=NullPool)
        self.timings: dict[str, float] = {}

    # --- processes ---------------------------------------------------------------------------

    def env(self, model_dir: Path, **extra: object) -> dict[str, str]:
        """One process's environment: the shared database, a cache of its own."""
        env = {key: value for key, value in os.environ.items()
               if key not in {"TEST_DATABASE_URL", "FLASK_ENV", "MODEL_STORE_URL", "MODEL_STORE_ENDPOINT_URL"}}
        env.update(SETTINGS)
        env.update({"FLASK_APP": "wsgi.py", "DATABASE_URL": self.database_url, "MODEL_DIR": str(model_dir),
                    "MODEL_CHECK_INTERVAL": str(self.check_interval), "PYTHONPATH": str(ROOT)})
        env.update({key: str(value) for key, value in extra.items()})
        return env

    def build(self) -> None:
        """The schema and a small seeded shop (no model yet)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        env, log = self.env(self.folder / "builder"), self.folder / "build.log"
        self.timings["migrate"] = flask(["db", "upgrade"], env, log)
        self.timings["seed"] = flask(["shop", "seed", *SMALL_SEED], env, log)

    def start_nodes(self, timeout: float = 120.0) -> None:
        for name in self.node_names:
            self.nodes[name] = LiveGunicorn(self.env(self.folder / name), self.workers, self.folder / f"{name}.log")
        started = time.perf_counter()
        for node in self.nodes.values():  # both boot at once, as two machines would
            node.process = subprocess.Popen(
                [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT, env=node.env,
                stdout=open(node.log, "ab"), stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        for name, node in self.nodes.items():
            while not (node._healthy() and len(node.worker_pids()) >= node.workers):
                if node.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{name} did not start; see {node.log}")
                time.sleep(0.2)
        self.timings["nodes_start"] = time.perf_counter() - started

    def trainer(self, name: str, **extra: object) -> subprocess.Popen:
        """``flask ml train`` from a process of its own (its own cache ``trainer-<name>``), in
        a session of its own (so it and anything it starts can be killed together); its output
        goes to ``<name>.log``."""
        out = open(self.folder / f"{name}.log", "wb")
        process = subprocess.Popen([str(BIN / "flask"), "ml", "train"], cwd=ROOT,
                                   env=self.env(self.folder / f"trainer-{name}", **extra),
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        return process

    def output(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        """SIGKILL the process's whole session (no handler runs) and reap it."""
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()

    def stop(self) -> None:
        for node in self.nodes.values():
            node.stop()
        self.engine.dispose()

    # --- what the outside sees ---------------------------------------------------------------

    def _get(self, name: str, path: str) -> tuple[int, dict]:
        connection = http.client.HTTPConnection("127.0.0.1", self.nodes[name].port, timeout=10)
        try:
            connection.request("GET", path, headers={"User-Agent": UA, "Accept": "application/json"})
            response = connection.getresponse()
            return response.status, json.loads(response.read() or b"{}")
        finally:
            connection.close()

    def serving(self, name: str) -> str | None:
        """The version the node's worker has loaded (its ``/readyz``)."""
        status, body = self._get(name, "/readyz")
        if status != 200:
            raise RuntimeError(f"{name} is not ready: {body}")
        return body["checks"]["model"]["serving"]

    def recommendation_version(self, name: str, product_id: int) -> str | None:
        """``model_version`` of the node's similar-items answer for ``product_id``."""
        status, body = self._get(name, f"/api/v1/recommendations/item/{product_id}?n=4")
        if status != 200:
            raise RuntimeError(f"{name} answered {status}: {body}")
        return body["model_version"]

    def most_viewed_product(self) -> int:
        with self.engine.connect() as connection:
            return connection.execute(text(
                "SELECT product_id FROM events WHERE product_id IS NOT NULL "
                "GROUP BY product_id ORDER BY count(*) DESC, product_id LIMIT 1")).scalar_one()

    def pointer(self) -> tuple[str, datetime] | None:
        with self.engine.connect() as connection:
            row = connection.execute(text("SELECT version, activated_at FROM model_pointer")).first()
        return (row.version, row.activated_at) if row is not None else None

    def stored_versions(self) -> list[str]:
        with self.engine.connect() as connection:
            return list(connection.execute(text("SELECT version FROM model_versions ORDER BY version")).scalars())

    def lock_row(self) -> dict | None:
        """The ``training_lock`` row (token, host, pid, silent_seconds by the database's clock)."""
        with self.engine.connect() as connection:
            row = connection.execute(text(
                "SELECT token, host, pid, extract(epoch FROM timezone('UTC', clock_timestamp()) - heartbeat_at) "
                "AS silent_seconds FROM training_lock")).mappings().first()
        return dict(row) if row is not None else None

    def advisory_lock_holders(self) -> list[int]:
        """Backend pids holding the training advisory lock in this database."""
        with self.engine.connect() as connection:
            return list(connection.execute(text(
                "SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                "WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database() "
                "AND ((l.classid::bigint << 32) | l.objid::bigint) = :key"), {"key": TRAINING_LOCK_KEY}).scalars())

    def runs(self) -> list[dict]:
        with self.engine.connect() as connection:
            return [dict(row) for row in connection.execute(text(
                "SELECT id, status, pid, version, error FROM training_runs ORDER BY id")).mappings()]

    def wait_for(self, condition, timeout: float, what: str, poll: float = 0.05):
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"not within {timeout:g} s: {what}")
            time.sleep(poll)

    def follow(self, before: str | None, trainer: subprocess.Popen | None = None, timeout: float = 90.0,
               settle: float = 30.0, poll: float = 0.1) -> Propagation:
        """Poll the pointer and every node until a version other than ``before`` is active
        (at most ``timeout`` seconds; a trainer that exits without activating one ends the wait
        with RuntimeError) and then until every node serves it, at most ``settle`` seconds after
        the activation was seen (nodes that did not are None in the result)."""
        deadline = time.monotonic() + timeout
        result: Propagation | None = None
        while time.monotonic() < deadline:
            # every node is asked at every poll, before and after the activation: traffic keeps
            # each node's pointer check on its own MODEL_CHECK_INTERVAL rhythm (an idle node
            # would check on the first request after the activation, which flatters the delay)
            serving = {name: (self.serving(name), datetime.now(timezone.utc)) for name in self.nodes}
            if result is None:
                pointer = self.pointer()
                if pointer is not None and pointer[0] != before:
                    result = Propagation(pointer[0], pointer[1], {name: None for name in self.nodes})
                    deadline = time.monotonic() + settle
                elif trainer is not None and trainer.poll() is not None:
                    raise RuntimeError(f"the trainer exited ({trainer.returncode}) without activating a version")
            if result is not None:
                for name, (version, answered_at) in serving.items():
                    if result.seen_after[name] is None and version == result.version:
                        result.seen_after[name] = _seconds_between(result.activated_at, answered_at)
                if result.all_seen:
                    return result
            time.sleep(poll)
        if result is None:
            raise TimeoutError(f"no new version activated within {timeout:g} s")
        return result  # some node did not serve it within ``settle``


def _seconds_between(moment: datetime, later: datetime) -> float:
    """Seconds from ``moment`` (the pointer's UTC time, naive or aware) to ``later`` (aware)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (later - moment).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default=None, help="PostgreSQL server URL (a database on it is created)")
    parser.add_argument("--check-interval", type=float, default=1.0, help="MODEL_CHECK_INTERVAL of the nodes")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers per node")
    parser.add_argument("--runs", type=int, default=2, help="training runs to follow")
    parser.add_argument("--serve", action="store_true", help="keep the nodes up afterwards until Ctrl-C")
    args = parser.parse_args()
    admin = make_url(args.server or server_url()).set(database="postgres").render_as_string(hide_password=False)
    if (problem := server_problem(admin)) is not None:
        raise SystemExit(f"PostgreSQL at {admin} does not answer: {problem}")
    url = create_scratch_database(admin)
    try:
        with tempfile.TemporaryDirectory(prefix="sf-two-nodes-") as folder:
            shop = TwoNodes(Path(folder), url, args.check_interval, args.workers)
            try:
                shop.build()
                shop.start_nodes()
                print(f"database {make_url(url).database}; migrate {shop.timings['migrate']:.1f} s, seed "
                      f"{shop.timings['seed']:.1f} s; nodes up in {shop.timings['nodes_start']:.1f} s: "
                      + ", ".join(f"{n} {node.base_url}" for n, node in shop.nodes.items()), flush=True)
                before = None
                for number in range(1, args.runs + 1):
                    started = time.perf_counter()
                    trainer = shop.trainer(f"train-{number}")
                    propagation = shop.follow(before, trainer)
                    trainer.wait()
                    print(f"run {number} (flask ml train, {time.perf_counter() - started:.1f} s to everywhere): "
                          f"{propagation.describe()}", flush=True)
                    before = propagation.version
                if args.serve:
                    print("serving; train again with:\n  env " + " ".join(
                        f"{k}={shop.env(Path(folder) / 'trainer-by-hand')[k]}" for k in
                        ("DATABASE_URL", "MODEL_DIR", "MODEL_STORE", "TRAINING_DEEP_MODELS", "CTR_ENABLED"))
                          + " .venv/bin/flask ml train\nCtrl-C to stop", flush=True)
                    try:
                        while True:
                            time.sleep(1)
                    except KeyboardInterrupt:
                        pass
            finally:
                shop.stop()
    finally:
        drop_database(url)


if __name__ == "__main__":
    sys.exit(main())
