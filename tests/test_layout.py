"""The layout's rules: imports point one way, and slim_ocr is a torch-free installable package."""
import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# package -> the project packages it must never import (bench -> pruning -> slim_ocr, and inside
# pruning: compression, pretrained -> training -> evaluation)
FORBIDDEN = {
    "function/slim_ocr": ("pruning", "bench", "torch", "app", "handler"),
    "pruning": ("bench",),
    "pruning/evaluation": ("pruning.training", "pruning.compression", "pruning.pretrained", "pruning.dataengine"),
    "pruning/training": ("pruning.compression", "pruning.pretrained"),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module)
    return out


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_one_way(package):
    bad = []
    for path in sorted((REPO / package).rglob("*.py")):
        for mod in imported_modules(path):
            if any(mod == f or mod.startswith(f + ".") for f in FORBIDDEN[package]):
                bad.append(f"{path.relative_to(REPO)} imports {mod}")
    assert not bad, bad


def test_nothing_edits_sys_path():
    offenders = [str(p.relative_to(REPO)) for d in ("function", "pruning", "bench", "tests", "infra")
                 for p in (REPO / d).rglob("*.py") if "sys.path.insert" in p.read_text(encoding="utf-8")
                 or "sys.path.append" in p.read_text(encoding="utf-8")]
    assert offenders == ["tests/test_layout.py"], offenders   # (this file only names them)


def test_slim_ocr_runs_without_torch():
    code = ("import sys; sys.modules['torch'] = None\n"   # any torch import would raise
            "import slim_ocr.pipeline, slim_ocr.batch, slim_ocr.bundle\n"
            "from slim_ocr.recognizer import Recognizer\n"
            "import numpy as np\n"
            "r = Recognizer('crnn', threads=1)\n"
            "print(r.name, r.recognize([np.full((32, 100), 255, np.uint8)]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "crnn [('', 0.0)]"


def test_slim_ocr_builds_as_a_wheel(tmp_path):
    src = tmp_path / "src"   # a copy: building in place would leave build/ in the checkout
    shutil.copytree(REPO / "function", src, ignore=shutil.ignore_patterns("models", "build", "*.egg-info", "__pycache__"))
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                          "-w", str(tmp_path), str(src)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    (whl,) = tmp_path.glob("slim_ocr-*.whl")
    names = set(zipfile.ZipFile(whl).namelist())
    assert {"slim_ocr/contract.py", "slim_ocr/recognizer.py", "slim_ocr/bundle.py"} <= names
    assert not any(n.startswith(("pruning/", "bench/", "tests/")) for n in names)


def _module_name(path: Path) -> str:
    rel = path.relative_to(REPO / "function" if path.is_relative_to(REPO / "function") else REPO).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_import_cycle_between_modules():
    """Module-level graph of the project's own imports (function-level ones too) has no cycle."""
    files = [p for d in ("function/slim_ocr", "pruning", "bench") for p in (REPO / d).rglob("*.py")]
    mods = {_module_name(p): p for p in files}
    graph = {}
    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        deps = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:   # relative: resolve against the package
                base = name.split(".")[: -node.level] if not path.name == "__init__.py" else name.split(".")[: len(name.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                deps.update(t for t in (target, *(f"{target}.{a.name}" for a in node.names)) if t in mods)
            elif isinstance(node, ast.ImportFrom) and node.module:
                deps.update(t for t in (node.module, *(f"{node.module}.{a.name}" for a in node.names)) if t in mods)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name in mods)
        graph[name] = deps - {name}
    # a package's __init__ re-exporting its modules is not a cycle through them
    graph = {n: {d for d in ds if not n.startswith(d + ".")} for n, ds in graph.items()}
    seen, stack, cycles = {}, [], []

    def visit(n):
        seen[n] = "open"
        stack.append(n)
        for d in graph.get(n, ()):
            if seen.get(d) == "open":
                cycles.append(stack[stack.index(d):] + [d])
            elif d not in seen:
                visit(d)
        stack.pop()
        seen[n] = "done"

    for n in sorted(graph):
        if n not in seen:
            visit(n)
    assert not cycles, cycles[:3]
