"""The library's import graph: no cycle, no import from a higher layer, no private reach-in.

Issue 14, item 1: a module that takes an object and touches its ``_members`` is a method in
disguise, and modules importing each other in a circle are one module in pieces. This test
reads the source (``ast``, nothing is imported) of every module under ``src/paychannels``,
``drivers/`` and ``simulators/`` — the tree the distribution installs as ``paychannels`` —
and fails naming what it found:

- **(a) cycles**: every import of a ``paychannels`` module counts, at module level, under
  ``if TYPE_CHECKING:`` (a type is a dependency too) and inside functions (a deferred import
  that exists for start-up time is still a dependency; laziness is no excuse for a cycle).
  ``from paychannels.x import y`` depends on ``paychannels.x.y`` when that is a module, else
  on ``paychannels.x``; importing a module also runs its packages' ``__init__``, so those
  count too, except the importer's own ancestors (Python has them loaded already) and the
  root ``paychannels`` package (its names load on first use, PEP 562). Each strongly
  connected set of modules is reported with one concrete cycle through it.
- **(b) private reach-ins**: ``x._name`` where ``x`` is not ``self``/``cls``/``super()`` or
  a module-private name of the same module (``_helper._x``), and ``_name`` is not a private
  member of a class defined in the same module (``other._x`` in ``__eq__``; an at-fork hook
  renewing its module's objects) reached through anything but a parameter annotated with
  another module's class (``col: Collector``): the module is the unit of privacy.
  Dunders (``__name__``) and the few underscore names Python documents as public API
  (``os._exit``, ``sys._getframe``, a namedtuple's ``_replace``/``_asdict``/``_fields``) are
  not reach-ins.
- **(c) layers**: ``LAYERS`` below names the layers of docs/architecture.md ("Layers"), lowest
  first; every module is in one, and imports from its own layer and the ones below, never from
  one above (the same imports as (a): a type or a deferred import is a dependency too).
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: source folder -> the package it installs as (pyproject's package-dir)
TREES = {
    ROOT / "src" / "paychannels": "paychannels",
    ROOT / "drivers": "paychannels.drivers",
    ROOT / "simulators": "paychannels.simulators",
}
#: underscore names that are public API of the standard library
PUBLIC_UNDERSCORE = {"_exit", "_getframe", "_replace", "_asdict", "_fields", "_make"}

#: The layers of docs/architecture.md ("Layers"), lowest first: a module may import from its
#: own layer and those below, never from one above. A module belongs to the layer of the
#: longest prefix that names it (a module or a package); every module must have one. The
#: root package ``paychannels`` (the public names, loaded on first use) is above them all.
#: Each entry is a folder (a room) of src/paychannels, drivers/ or simulators/: the folder a
#: module is in tells its layer (``test_the_top_level_holds_only_rooms``).
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "values",
        (
            "paychannels._version",
            "paychannels.values",
            "paychannels.runtime",
            "paychannels.security",
            "paychannels.console",
            "paychannels.config",
        ),
    ),
    ("journal", ("paychannels.journal",)),
    ("links and files", ("paychannels.links", "paychannels.bankfiles")),
    ("channels", ("paychannels.channels", "paychannels.providers", "paychannels.drivers")),
    ("collector", ("paychannels.collector",)),
    ("documents", ("paychannels.documents", "paychannels.reconcile")),
    (
        "services",
        (
            "paychannels.callbacks",
            "paychannels.lookup",
            "paychannels.observe",
            "paychannels.operations",
            "paychannels.simulators",
            "paychannels.testing",
        ),
    ),
    ("demo", ("paychannels.demo",)),
    ("cli", ("paychannels.cli",)),
]
TOP = "paychannels"  # the facade: above every layer


@dataclass
class Module:
    """One module of the tree: its dotted name, file, syntax tree and what it imports."""

    name: str
    path: Path
    tree: ast.Module
    is_package: bool
    #: imported dotted names (unresolved against the tree yet) with the line of each
    imports: list[tuple[str, int]] = field(default_factory=list)

    @property
    def rel(self) -> str:
        return str(self.path.relative_to(ROOT))


def _walk_tree() -> dict[str, Module]:
    modules: dict[str, Module] = {}
    for base, package in TREES.items():
        for path in sorted(base.rglob("*.py")):
            parts = list(path.relative_to(base).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts = parts[:-1]
            name = ".".join([package, *parts])
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            modules[name] = Module(name, path, tree, is_package)
    for module in modules.values():
        module.imports = list(_imports(module))
    return modules


def _imports(module: Module) -> Iterator[tuple[str, int]]:
    """Every ``paychannels`` name the module imports, anywhere in its body, with its line."""
    here = module.name if module.is_package else module.name.rpartition(".")[0]
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            for alias in node.names:
                yield f"{source}.{alias.name}", node.lineno  # a submodule, or a name in source


def _resolve(dotted: str, modules: dict[str, Module]) -> str | None:
    """The module of the tree that ``dotted`` (a module, or a name in one) lives in."""
    while dotted:
        if dotted in modules:
            return dotted
        dotted = dotted.rpartition(".")[0]
    return None


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def graph(modules: dict[str, Module]) -> dict[str, dict[str, int]]:
    """Module -> the modules it depends on (the line of the first import of each)."""
    edges: dict[str, dict[str, int]] = {name: {} for name in modules}
    for module in modules.values():
        mine = set(_ancestors(module.name))
        for dotted, line in module.imports:
            target = _resolve(dotted, modules) if dotted.startswith("paychannels") else None
            if target is None:
                continue
            for dep in [*_ancestors(target), target]:
                if dep != module.name and dep != "paychannels" and dep not in mine:
                    edges[module.name].setdefault(dep, line)
    return edges


def cycles(edges: dict[str, dict[str, int]]) -> list[tuple[list[str], list[str]]]:
    """Each strongly connected set of two or more modules, with one cycle through it."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            connect(v)
    return [(component, _one_cycle(component, edges)) for component in components]


def _one_cycle(component: list[str], edges: dict[str, dict[str, int]]) -> list[str]:
    """A shortest way from the component's first module back to itself, inside it."""
    inside, start = set(component), component[0]
    came: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(edges[v]):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(came[path[-1]])
                    return [*reversed(path), start]
                if w in inside and w not in came:
                    came[w] = v
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"no cycle in the component {component}")  # Tarjan said there is


def reach_ins(module: Module) -> list[str]:
    """``file:line: x._name`` for each access to another object's private member."""
    found: list[str] = []
    own_private = {
        node.name
        for node in module.tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and node.name.startswith("_")
    } | {
        target.id
        for node in module.tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name) and target.id.startswith("_")
    }

    # the private members of the module's own classes: the module is their unit of privacy
    own_attrs = {
        name
        for node in ast.walk(module.tree)
        if isinstance(node, ast.ClassDef)
        for name in _self_attributes(node)
    }

    own_classes = {node.name for node in ast.walk(module.tree) if isinstance(node, ast.ClassDef)}

    def visit(node: ast.AST, foreign: frozenset[str]) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            foreign = _foreign_parameters(node, own_classes) | (
                foreign - {a.arg for a in _parameters(node)}
            )
        if (
            isinstance(node, ast.Attribute)
            and _private(node.attr)
            and not _allowed(node, own_private, own_attrs, foreign)
        ):
            found.append(f"{module.rel}:{node.lineno}: {ast.unparse(node)}")
        for child in ast.iter_child_nodes(node):
            visit(child, foreign)

    visit(module.tree, frozenset())
    return found


def _parameters(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.arg]:
    a = fn.args
    return [*a.posonlyargs, *a.args, *a.kwonlyargs, *filter(None, [a.vararg, a.kwarg])]


def _foreign_parameters(
    fn: ast.FunctionDef | ast.AsyncFunctionDef, own_classes: set[str]
) -> frozenset[str]:
    """Parameters annotated with a class of another module (``col: Collector``): their
    privates are never this module's, whatever a class here names its own members."""
    out = set()
    for arg in _parameters(fn):
        if arg.annotation is None or arg.arg in ("self", "cls"):
            continue
        text = ast.unparse(arg.annotation).strip("'\"")
        name = text.split("[")[0].split("|")[0].strip().rpartition(".")[2]
        if name and name[0].isupper() and name not in own_classes and name != "Self":
            out.add(arg.arg)
    return frozenset(out)


def _private(attr: str) -> bool:
    return attr.startswith("_") and not attr.endswith("__") and attr not in PUBLIC_UNDERSCORE


def _allowed(
    node: ast.Attribute, own_private: set[str], own_attrs: set[str], foreign: frozenset[str]
) -> bool:
    base = node.value
    if isinstance(base, ast.Name) and base.id in foreign:
        return False  # a parameter typed as another module's class
    if node.attr in own_attrs:
        return True  # a member of a class of this module (``other._x`` in ``__eq__``)
    if isinstance(base, ast.Name):
        return base.id in ("self", "cls") or base.id in own_private
    if isinstance(base, ast.Call) and isinstance(base.func, ast.Name):
        return base.func.id in ("super", "type")  # super()._x, type(self)._x
    return False


def _self_attributes(cls: ast.ClassDef) -> set[str]:
    """Private names a class owns: its methods and class attributes, and ``self._x = ...``."""
    names = {
        node.name
        for node in cls.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }
    for node in ast.walk(cls):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        for target in targets:
            if (
                isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id == "self"
            ):
                names.add(target.attr)
    for node in cls.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return {n for n in names if n.startswith("_")}


def layer_of(name: str) -> int | None:
    """The index in ``LAYERS`` of the module ``name`` (``len(LAYERS)`` for the root)."""
    if name == TOP:
        return len(LAYERS)
    best: tuple[int, int] | None = None
    for index, (_layer, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and (
                best is None or len(prefix) > best[1]
            ):
                best = (index, len(prefix))
    return None if best is None else best[0]


def _layer_name(index: int) -> str:
    return LAYERS[index][0] if index < len(LAYERS) else "the package root"


MODULES = _walk_tree()


def test_the_tree_is_read() -> None:
    assert "paychannels.collector" in MODULES and "paychannels.drivers.zvt" in MODULES
    assert len(MODULES) > 200


def test_no_import_cycle() -> None:
    edges = graph(MODULES)
    found = cycles(edges)
    lines = []
    for knot, cycle in found:
        steps = [f"{a} ({MODULES[a].rel}:{edges[a][b]})" for a, b in itertools.pairwise(cycle)]
        lines.append(" -> ".join([*steps, cycle[-1]]))
        lines.append(f"  (one of the cycles among {len(knot)} modules: {', '.join(knot)})")
    assert not found, f"{len(found)} import cycle(s):\n" + "\n".join(lines)


def test_no_module_reaches_into_another_objects_privates() -> None:
    found = [hit for module in MODULES.values() for hit in reach_ins(module)]
    assert not found, f"{len(found)} private reach-in(s):\n" + "\n".join(found)


def test_every_module_has_a_layer() -> None:
    unplaced = sorted(name for name in MODULES if layer_of(name) is None)
    assert not unplaced, "modules in no layer (add them to LAYERS): " + ", ".join(unplaced)


def test_no_import_from_a_higher_layer() -> None:
    found = []
    for name, deps in graph(MODULES).items():
        low = layer_of(name)
        for dep, line in deps.items():
            high = layer_of(dep)
            if low is not None and high is not None and high > low:
                found.append(
                    f"{MODULES[name].rel}:{line}: {name} ({_layer_name(low)}) imports "
                    f"{dep} ({_layer_name(high)})"
                )
    assert not found, f"{len(found)} import(s) from a higher layer:\n" + "\n".join(found)


def test_the_top_level_holds_only_rooms() -> None:
    """src/paychannels has no loose modules: each is in a folder named in LAYERS."""
    top = ROOT / "src" / "paychannels"
    rooms = {p.split(".")[1] for _, prefixes in LAYERS for p in prefixes if p.count(".") == 1}
    loose = sorted(
        p.name
        for p in top.iterdir()
        if (p.suffix == ".py" and p.name not in ("__init__.py", "_version.py"))
        or ((p / "__init__.py").exists() and p.name not in rooms)
    )
    assert not loose, f"modules or packages outside the rooms of LAYERS: {loose}"
