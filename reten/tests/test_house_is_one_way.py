"""STYLE.md: each app imports only the apps below it — reten, tenants, commerces, activities, dispatch, from the
ground up. `activities` never imports `dispatch`; `reten` imports no app. Read from the source, so an import
hidden inside a function counts too. Tests are integration code and may import anything."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["reten", "tenants", "commerces", "activities", "dispatch", "webhooks"]


def imported_apps(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.update(name.split(".")[0] for name in names if name.split(".")[0] in LAYERS)
    return found


def source_files(app):
    return [path for path in sorted((ROOT / app).rglob("*.py"))
            if "tests" not in path.relative_to(ROOT / app).parts]


@pytest.mark.parametrize("app", LAYERS)
def test_an_app_imports_only_the_apps_below_it(app):
    allowed = set(LAYERS[: LAYERS.index(app) + 1])
    upward = {}
    for path in source_files(app):
        wrong = imported_apps(path) - allowed
        if wrong:
            upward[str(path.relative_to(ROOT))] = sorted(wrong)
    assert upward == {}, f"{app} may import only {sorted(allowed)}; these modules reach higher: {upward}"


def test_the_check_sees_an_upward_import(tmp_path):
    module = tmp_path / "example.py"
    module.write_text("def later():\n    from dispatch.services import dispatch_now\n")
    assert imported_apps(module) == {"dispatch"}
