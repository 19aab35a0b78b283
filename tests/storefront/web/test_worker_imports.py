"""Web workers stay small: building the app imports none of the training-only libraries."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
TRAINING_ONLY = ["torch", "implicit", "gensim", "sklearn"]


def test_create_app_imports_no_training_library(tmp_path):
    code = (
        "import json, sys\n"
        "from storefront import create_app\n"
        f"create_app({{'ENV_NAME': 'testing', 'SQLALCHEMY_DATABASE_URI': 'sqlite:///{tmp_path / 'w.db'}'}})\n"
        f"print(json.dumps([m for m in {TRAINING_ONLY!r} if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
