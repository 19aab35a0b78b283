"""How many of the project's files one product view's journey runs through.

The walk: a shopper views a product (view -> tracking -> the events table), ``flask ml train``
reads the events and publishes an artifact, and the next product page serves the new version in
its widgets. Every Python file of ``storefront/`` and ``ml/`` whose code runs during those three
steps is counted (a profiler hook records each function call's file); seeding the demo data
before the walk is not counted. Run it in any checkout, e.g. an older commit in a worktree, to
compare layouts:

    PYTHONPATH=. .venv/bin/python bench/walk_files.py [--list]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path.cwd().resolve()
sys.path.insert(0, str(ROOT))
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"


def seeded_shop(anonymous: int = 80, **config):
    """A small demo shop in a temporary SQLite file (not trained): the bench scripts that count
    what a page or a walk touches share it."""
    from storefront import create_app
    from storefront.extensions import db

    folder = Path(tempfile.mkdtemp(prefix="bench-shop-"))
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'shop.db'}",
                      "MODEL_DIR": str(folder / "models"), "TRAINING_DEEP_MODELS": False,
                      "MODEL_CHECK_INTERVAL": 0.0, **config})
    with app.app_context():
        db.create_all()
    result = app.test_cli_runner().invoke(args=[
        "shop", "seed", "--products", "120", "--categories", "8", "--customers", "150", "--anonymous",
        str(anonymous), "--events", "12000", "--days", "40", "--b2b-visitors", "0"])
    assert result.exit_code == 0, result.output
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="print the files, by step")
    args = parser.parse_args()
    app = seeded_shop(anonymous=100)
    runner = app.test_cli_runner()
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = UA

    seen: dict[str, set[str]] = {}

    def watch(step: str, work) -> None:
        files = seen.setdefault(step, set())
        roots = (str(ROOT / "storefront") + os.sep, str(ROOT / "ml") + os.sep)

        def hook(frame, event, _arg):
            if event == "call":
                name = frame.f_code.co_filename
                if name.startswith(roots):
                    files.add(os.path.relpath(name, ROOT))
        sys.setprofile(hook)
        threading.setprofile(hook)
        try:
            work()
        finally:
            sys.setprofile(None)
            threading.setprofile(None)

    watch("1 view (tracking -> events)", lambda: _ok(client.get("/products/5")))
    watch("2 train (events -> artifact)", lambda: _ok_cli(runner.invoke(args=["ml", "train"])))
    watch("3 serve (artifact -> widgets)", lambda: _ok(client.get("/products/6")))
    union = set().union(*seen.values())
    for step, files in seen.items():
        print(f"{step}: {len(files)} files")
        if args.list:
            print("".join(f"    {f}\n" for f in sorted(files)), end="")
    print(f"whole walk: {len(union)} distinct files of storefront/ and ml/")


def _ok(response) -> None:
    assert response.status_code == 200, response.status_code


def _ok_cli(result) -> None:
    assert result.exit_code == 0, result.output


if __name__ == "__main__":
    main()
