"""Imports run one way through vae_core's stages, and nothing in vae_core reaches the app or its libraries.

    data, models -> objective -> evaluation -> runs -> training -> analysis -> serving -> cli and sweep

A module may import its own stage or an earlier one, never a later one. training/config.py (TrainConfig)
is a leaf of the first stage, as models/config.py is, so runs/ can describe a run's recipe. The walk reads
every import statement (function-level ones too) with ast, so a lazy import cannot hide an arrow.
"""
import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "vae_core"
STAGES = [
    ("leaves", ("vae_core.fields", "vae_core.tensors", "vae_core.data", "vae_core.models", "vae_core.training.config")),
    ("objective", ("vae_core.objective",)),
    ("evaluation", ("vae_core.evaluation",)),
    ("runs", ("vae_core.runs",)),
    ("training", ("vae_core.training",)),
    ("analysis", ("vae_core.analysis",)),
    ("serving", ("vae_core.serving",)),
    ("cli and sweep", ("vae_core.cli", "vae_core.sweep", "vae_core.__main__", "vae_core")),
]
FORBIDDEN = ("streamlit", "plotly", "explorer")


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def stage_of(module: str) -> int:
    """The stage of a vae_core module: the one naming the longest prefix of its dotted name."""
    best, best_len = None, -1
    for index, (_, prefixes) in enumerate(STAGES):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = index, len(prefix)
    assert best is not None, f"{module} is in no stage; add it to STAGES"
    return best


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in a file; `from vae_core import x` names vae_core.x when that is a module
    (and vae_core itself only for names that are not modules)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            submodules = [f"{node.module}.{a.name}" for a in node.names if is_module(f"{node.module}.{a.name}")]
            if len(submodules) < len(node.names):  # some names come from the module itself
                found.append((node.lineno, node.module))
            found += [(node.lineno, m) for m in submodules]
    return found


def is_module(dotted: str) -> bool:
    path = REPO / dotted.replace(".", "/")
    return path.is_dir() or path.with_suffix(".py").exists()


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_stage():
    for path in MODULES:
        stage_of(module_name(path))


def arrows_against_the_order(path: Path, me: str) -> list[str]:
    """What is wrong with the imports of the file at `path`, read as module `me`."""
    mine = stage_of(me)
    wrong = []
    for line, target in imported_modules(path):
        if target.split(".")[0] in FORBIDDEN:
            wrong.append(f"line {line}: imports {target}; vae_core never imports Streamlit, Plotly or the explorer app")
        elif target == "vae_core" or target.startswith("vae_core."):
            theirs = stage_of(target)
            if theirs > mine:
                wrong.append(f"line {line}: {me} ({STAGES[mine][0]}) imports {target} ({STAGES[theirs][0]}), a later stage")
    return wrong


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(REPO)))
def test_imports_run_one_way(path):
    wrong = arrows_against_the_order(path, module_name(path))
    assert not wrong, "\n".join(wrong)


def test_the_walk_finds_a_lazy_import_against_the_order(tmp_path):
    fake = tmp_path / "loop.py"
    fake.write_text("from vae_core.evaluation import evaluate\n\n\ndef f():\n    from vae_core import analysis\n"
                    "    import plotly.graph_objects\n")
    wrong = arrows_against_the_order(fake, "vae_core.training.loop")
    assert len(wrong) == 2, wrong
    assert "imports vae_core.analysis (analysis), a later stage" in wrong[0] and "plotly" in wrong[1]


def test_figures_are_pure_functions_without_streamlit():
    for path in sorted((REPO / "explorer" / "figures").rglob("*.py")):
        streamlit = [t for _, t in imported_modules(path) if t.split(".")[0] == "streamlit"]
        assert not streamlit, f"{path.relative_to(REPO)} imports Streamlit; figures are pure (data) -> figure functions"
