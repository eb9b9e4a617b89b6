"""The explainer's Redis layout is its own: the gateway reaches it only through the explainer's client."""

import ast
from pathlib import Path

GATEWAY = Path(__file__).resolve().parents[2] / "services" / "gateway"
EXPLAINER_INTERNALS = ("services.explainer.cache", "services.explainer.tasks", "services.explainer.jobs")


def imported_modules(source: Path) -> set[str]:
    """Every module a file imports, `from package import module` counted as `package.module`."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


def test_the_gateway_imports_no_explainer_internals_and_names_no_explainer_key() -> None:
    sources = sorted(GATEWAY.rglob("*.py"))
    assert len(sources) > 10  # the walk found the package
    for source in sources:
        internal = {m for m in imported_modules(source) if m.startswith(EXPLAINER_INTERNALS)}
        assert not internal, f"{source.name} imports {internal}"
        assert "explainer:" not in source.read_text(), f"{source.name} names an explainer Redis key"
