"""A separate process for tests/storefront/training/test_coordination.py: a node with its own
database connections, driven line by line through stdin, answering one JSON line per command.

``python -m tests.storefront.training.coordination_worker URL MODEL_DIR [--host NAME] [--stale S]``

Commands: ``acquire`` (the app's training lock: ``{"acquired": true}`` or ``{"acquired": false,
"error": ...}``), ``release``, ``tick INTERVAL HOLD DECIDING`` (one scheduler tick whose decision takes DECIDING
seconds and whose training is replaced by a run of HOLD seconds: ``{"run": id or null,
"message": ...}``), ``exit``. It prints
``{"ready": pid}`` once its app is built.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

from storefront import create_app
from storefront.extensions import db
from storefront.training import coordination, job
from storefront.training.runs import finish_run, start_run
from storefront.training.scheduler import TrainingScheduler


def _say(**answer) -> None:
    print(json.dumps(answer), flush=True)


def _fake_execute(hold: float):
    """Stands in for the real training (job._execute): start, take ``hold`` seconds, succeed."""
    def execute(run, _forward):
        start_run(run)
        db.session.commit()
        time.sleep(hold)
        finish_run(run, version=f"v{run.id}", champion="fake")
        db.session.commit()
        return run
    return execute


class _SlowScheduler(TrainingScheduler):
    """A scheduler whose "is a run due?" takes ``deciding`` seconds: racing schedulers then
    overlap for sure (without the scheduling lock, each would queue a run of its own)."""

    def __init__(self, interval: float, deciding: float) -> None:
        super().__init__(interval)
        self.deciding = deciding

    def not_due_reason(self, now):
        reason = super().not_due_reason(now)
        time.sleep(self.deciding)
        return reason


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("model_dir")
    parser.add_argument("--host", default=None)
    parser.add_argument("--stale", type=float, default=1800.0)
    args = parser.parse_args()
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": args.url, "MODEL_DIR": args.model_dir,
                      "TRAINING_STALE_AFTER_SECONDS": args.stale, "TRAINING_LAUNCH": False})
    lock = None
    with app.app_context():
        _say(ready=os.getpid())
        for line in sys.stdin:
            command, *rest = line.split()
            if command == "acquire":
                lock = coordination.training_lock(args.model_dir, stale_after_seconds=args.stale)
                if args.host and isinstance(lock, coordination.PostgresTrainingLock):
                    lock.host = args.host
                try:
                    lock.acquire()
                except coordination.LockHeldError as busy:
                    _say(acquired=False, error=str(busy))
                else:
                    _say(acquired=True)
            elif command == "release":
                lock.release()
                _say(released=True)
            elif command == "tick":
                interval, hold, deciding = float(rest[0]), float(rest[1]), float(rest[2])
                job._execute = _fake_execute(hold)
                outcome = _SlowScheduler(interval=interval, deciding=deciding).tick()
                _say(run=outcome.run.id if outcome.run is not None else None, message=outcome.message)
            elif command == "exit":
                break
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    main()
