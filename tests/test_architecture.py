"""The package's shape: imports flow one way through the layers, never into another's privates.

data -> em -> bayes -> compare -> report -> cli (the array layer ``mixture`` and the shared
``_validation`` / ``conventions`` / ``exceptions`` sit under all of them). Read from the source
with ``ast``, so the test needs no import of the heavy layers.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gmm_bayes"

#: layer of each top-level part of the package; a module may import only from layers <= its own
LAYERS = {
    "exceptions": 0,
    "conventions": 0,
    "_validation": 0,
    "_lazy": 0,
    "data": 1,
    "mixture": 1,
    "em": 2,
    "bayes": 3,
    "compare": 4,
    "report": 5,
    "cli": 6,
}
#: the package's entry points: they re-export from every layer
ENTRY_POINTS = {"gmm_bayes/__init__.py", "gmm_bayes/__main__.py"}


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).as_posix()
        if rel not in ENTRY_POINTS:
            yield rel, path


def part(dotted):
    """``gmm_bayes.em.driver`` -> ``em``; None for names outside the package."""
    pieces = dotted.split(".")
    if pieces[0] != "gmm_bayes" or len(pieces) < 2:
        return None
    return pieces[1]


def imports(path):
    """``(module imported, names taken from it, line)`` for every gmm_bayes import in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                yield node.module, alias.name, node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, node.lineno


def own_part(rel):
    return part(rel.removesuffix(".py").removesuffix("/__init__").replace("/", "."))


@pytest.mark.parametrize("rel,path", list(modules()), ids=lambda v: str(v))
def test_imports_flow_one_way_and_skip_other_layers_privates(rel, path):
    mine = own_part(rel)
    assert mine in LAYERS, f"{rel}: add its part to LAYERS"
    problems = []
    for module, name, line in imports(path):
        theirs = part(module)
        if module == "gmm_bayes" and name is not None:  # from gmm_bayes import em
            theirs = name
        if theirs is None or theirs == mine:
            continue
        if LAYERS[theirs] > LAYERS[mine]:
            problems.append(f"line {line}: {mine} imports the later layer {module}")
        if name is not None and name.startswith("_") and theirs != mine:
            problems.append(f"line {line}: private name {name} of {module}")
        if name is None and any(p.startswith("_") and p != "__init__" for p in module.split(".")):
            problems.append(f"line {line}: private module {module}")
    assert not problems, f"{rel}: " + "; ".join(problems)


def test_layers_cover_the_package():
    parts = {own_part(rel) for rel, _ in modules()}
    assert parts <= set(LAYERS)
