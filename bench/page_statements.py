"""SQL statements per page (product, home, cart), in one process with the Flask test client.

A small seeded shop with a trained model (``walk_files.seeded_shop``); each page's statements are
counted with an engine event. Run it in any checkout to compare:

    PYTHONPATH=. .venv/bin/python bench/page_statements.py
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path.cwd()))

from sqlalchemy import event  # noqa: E402

from bench.walk_files import UA, seeded_shop  # noqa: E402
from storefront.extensions import db  # noqa: E402

PAGES = ["/products/3", "/products/4", "/", "/products/5", "/cart", "/c/x"]


def main() -> None:
    app = seeded_shop(CTR_ENABLED=False)
    result = app.test_cli_runner().invoke(args=["ml", "train"])
    assert result.exit_code == 0, result.output
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = UA
    count = [0]
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *_args, **_kwargs: count.__setitem__(0, count[0] + 1))
    for url in PAGES:
        count[0] = 0
        status = client.get(url).status_code
        print(f"{url:14} {status} {count[0]} statements")


if __name__ == "__main__":
    main()
