"""SQL statements per page (product, home, cart), in one process with the Flask test client.

A small seeded shop with a trained model; each page's statements are counted with an engine
event. Run it in any checkout to compare:

    PYTHONPATH=. .venv/bin/python bench/page_statements.py
"""
import sys, tempfile
from pathlib import Path
sys.path.insert(0, str(Path.cwd()))
from sqlalchemy import event
from storefront import create_app
from storefront.extensions import db
folder = Path(tempfile.mkdtemp())
app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder/'q.db'}", "MODEL_DIR": str(folder/"m"), "TRAINING_DEEP_MODELS": False, "CTR_ENABLED": False})
with app.app_context():
    db.create_all()
runner = app.test_cli_runner()
r = runner.invoke(args=["shop", "seed", "--products", "120", "--categories", "8", "--customers", "150", "--anonymous", "80", "--events", "12000", "--days", "40", "--b2b-visitors", "0"]); assert r.exit_code == 0, r.output
r = runner.invoke(args=["ml", "train"]); assert r.exit_code == 0, r.output
client = app.test_client(); client.environ_base["HTTP_USER_AGENT"] = "Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0 Safari/537.36"
count = [0]
with app.app_context():
    engine = db.engine
event.listen(engine, "before_cursor_execute", lambda *a, **k: count.__setitem__(0, count[0] + 1))
for url in ["/products/3", "/products/4", "/", "/products/5", "/cart", "/c/" + "x"]:
    count[0] = 0
    status = client.get(url).status_code
    print(f"{url:14} {status} {count[0]} statements")
