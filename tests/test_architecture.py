"""The folder tree is the architecture: the layer rules of docs/ARCHITECTURE.md, checked."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUEST_GLOBALS = {"request", "session", "g", "current_user", "abort", "url_for"}
MAX_MODULES_PER_FOLDER = 20


def _may_touch_the_request(path: Path) -> bool:
    """Views and forms of the blueprints, the web plumbing package and the CLI."""
    relative = path.relative_to(ROOT / "storefront")
    return (relative.parts[0] in ("web", "cli")
            or relative.name in ("views.py", "forms.py")
            or relative.parts[0] == "admin"  # the admin blueprint: one module per page group
            or relative.as_posix() == "shop/promotions.py")  # the banner's link view


def _flask_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module in ("flask", "flask_login"):
            names |= {alias.name for alias in node.names}
    return names


def test_only_views_web_plumbing_and_cli_touch_flask_request_globals():
    offenders = {
        str(path.relative_to(ROOT)): sorted(_flask_names(path) & REQUEST_GLOBALS)
        for path in (ROOT / "storefront").rglob("*.py")
        if not _may_touch_the_request(path) and _flask_names(path) & REQUEST_GLOBALS
    }
    assert offenders == {}


def test_no_python_folder_holds_more_than_twenty_modules():
    crowded = {}
    for top in ("storefront", "ml", "tests", "bench"):
        for folder in [ROOT / top, *(p for p in (ROOT / top).rglob("*") if p.is_dir())]:
            modules = [p for p in folder.glob("*.py") if p.name != "__init__.py"]
            if len(modules) > MAX_MODULES_PER_FOLDER:
                crowded[str(folder.relative_to(ROOT))] = len(modules)
    assert crowded == {}


def test_ml_never_imports_the_web_app():
    for path in (ROOT / "ml").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom | ast.Import):
                modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                assert not any(m.split(".")[0] in ("storefront", "flask", "flask_sqlalchemy") for m in modules), path


# The arrows docs/ARCHITECTURE.md allows: each layer imports only the layers below it.
FOUNDATION = {"models", "extensions", "config", "database"}
CORE = {"catalog", "tracking", "orders"}
FEATURES = {"recommendations", "training", "ctr", "segments", "resources", "campaigns", "analytics", "imports",
            "seeding", "experiments", "search", "modelstore"}
BOUNDARY = {"web", "cli", "shop", "account", "api", "admin"}
BLUEPRINT_MODULES = {"views.py", "forms.py", "__init__.py"}  # a context's own pages (resources/)


def _layer_of(path: Path) -> set[str] | None:
    """What a module may import from storefront (None: anything, the boundary)."""
    parts = path.relative_to(ROOT / "storefront").parts
    top = parts[0].removesuffix(".py")
    if top in BOUNDARY or parts == ("__init__.py",) or (top in FEATURES and parts[-1] in BLUEPRINT_MODULES):
        return None
    if top in FOUNDATION:
        return FOUNDATION
    if top in CORE:
        return FOUNDATION | CORE
    return FOUNDATION | CORE | FEATURES


def test_packages_import_only_the_layers_below_them():
    wrong = []
    for path in (ROOT / "storefront").rglob("*.py"):
        allowed = _layer_of(path)
        if allowed is None:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("storefront."):
                target = node.module.split(".")[1]
                if target not in allowed:
                    wrong.append(f"{path.relative_to(ROOT)} imports {node.module}")
    assert wrong == []
