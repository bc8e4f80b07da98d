"""The engine is headless: importing every engine module never loads Qt."""

import pkgutil
import subprocess
import sys
from pathlib import Path

import engine

ROOT = Path(__file__).resolve().parents[2]


def test_engine_never_imports_qt():
    modules = [m.name for m in pkgutil.walk_packages(engine.__path__, "engine.") if not m.name.endswith("__main__")]
    code = ("import importlib, sys\n"
            f"for m in {modules!r}:\n    importlib.import_module(m)\n"
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'gui', 'shiboken6'))]\n"
            "print(bad)\nsys.exit(1 if bad else 0)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    assert len(modules) > 20


def _import_graph() -> dict:
    """Module -> the project modules it imports anywhere in its code (lazy imports inside functions too)."""
    import ast

    def name(p: Path) -> str:
        parts = list(p.relative_to(ROOT).with_suffix("").parts)
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

    mods = {name(p): p for pkg in ("engine", "gui") for p in (ROOT / pkg).rglob("*.py")}
    graph = {}
    for mod, path in mods.items():
        here = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = ".".join(here[: len(here) - node.level + 1] + [node.module or ""]).strip(".") \
                    if node.level else node.module
                edges |= {f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names}
            elif isinstance(node, ast.Import):
                edges |= {a.name for a in node.names}
        graph[mod] = {e for e in edges if e in mods and e != mod}
    return graph


def test_no_import_circle():
    graph = _import_graph()
    assert graph["engine.training.data"] and "engine.training.pack" in graph["engine.training.data"]
    state: dict = {}

    def visit(mod, path):
        state[mod] = "open"
        for dep in sorted(graph[mod]):
            if state.get(dep) == "open":
                raise AssertionError("import circle: " + " -> ".join(path[path.index(dep):] + [dep]))
            if dep not in state:
                visit(dep, path + [dep])
        state[mod] = "done"

    for mod in sorted(graph):
        if mod not in state:
            visit(mod, [mod])


def test_the_house_rules():
    """#27: one package for the benchmarks, studies apart from packaging, a main window that only assembles."""
    assert not list((ROOT / "engine").glob("bench_*.py")) and (ROOT / "engine" / "bench" / "__init__.py").is_file()
    studies = {"ablation", "objective_study", "study_tables", "identity_calibration", "measure_tiling",
               "verify_upscaler", "evaluate_", "degradation_grid", "upscale_grid", "grid_image"}
    top = [p.name for p in (ROOT / "build_scripts").iterdir() if p.is_file()]
    assert not [n for n in top if any(n.startswith(s) for s in studies)], top
    assert (ROOT / "build_scripts" / "studies" / "README.md").is_file()
    assert len((ROOT / "gui" / "main_window.py").read_text().splitlines()) <= 400
