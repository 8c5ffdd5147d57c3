"""The public API is what ``__all__`` says, and every name in it exists and is documented.

As httpx's tests/test_exported_members.py: ``__all__`` is exactly the public names, sorted. The
package loads its names on first use, so "public" is checked both before and after loading.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

import paychannels


def _order(name: str) -> tuple[int, str]:
    """The project's ``__all__`` order (ruff RUF022): CONSTANTS, then Classes, then the rest."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def _public(names: Iterable[str]) -> set[str]:
    """Names a user may import: not private (``__version__`` excepted), not a submodule."""
    return {
        n
        for n in names
        if (not n.startswith("_") or n == "__version__")
        and not inspect.ismodule(getattr(paychannels, n))
    }


def test_all_is_exactly_the_public_names_sorted() -> None:
    assert paychannels.__all__ == sorted(set(paychannels.__all__), key=_order)
    assert _public(dir(paychannels)) == set(paychannels.__all__)
    for name in paychannels.__all__:
        assert getattr(paychannels, name) is not None, name
    # loaded now: nothing public in the namespace that __all__ does not name
    assert _public(vars(paychannels)) == set(paychannels.__all__)


def test_an_unknown_name_is_an_attribute_error() -> None:
    assert not hasattr(paychannels, "Collecter")
    with pytest.raises(ImportError, match="Collecter"):
        exec("from paychannels import Collecter", {})


def test_type_checkers_see_the_objects_the_package_loads() -> None:
    """The ``TYPE_CHECKING`` imports mypy reads name the very objects ``__getattr__`` returns."""
    tree = ast.parse(Path(paychannels.__file__).read_text(encoding="utf-8"))
    seen: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            if ast.unparse(node.test).startswith("not"):
                continue
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom) and imp.module
                seen.update({a.name: imp.module for a in imp.names})
    assert set(seen) | {"__version__"} == set(paychannels.__all__)
    for name, module in seen.items():
        assert getattr(paychannels, name) is getattr(importlib.import_module(module), name), name


def test_importing_the_package_loads_no_public_name_yet() -> None:
    code = (
        "import sys, paychannels; "
        "print(sorted(m for m in sys.modules if m.startswith(('paychannels', 'pydantic'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert out.strip() == "['paychannels']"


def test_every_module_imports_and_has_a_docstring() -> None:
    for info in pkgutil.walk_packages(paychannels.__path__, "paychannels."):
        module = importlib.import_module(info.name)
        assert module.__doc__ and module.__doc__.strip(), f"{info.name} has no docstring"


def test_public_classes_and_functions_have_docstrings() -> None:
    for name in paychannels.__all__:
        obj = getattr(paychannels, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__doc__, f"{name} has no docstring"


def test_design_example_runs() -> None:
    import paychannels as pc

    assert pc.Money("380.00", "CNY").minor == 38000
    col = pc.Collector.open("sqlite:///:memory:", create=True)
    col.add_channel("hall-1", pc.open_channel("memory://"))
    p = col.collect(
        pc.PaymentRequest(
            payer_id="p", amount=pc.Money("380.00", "CNY"), reference="r", idempotency_key="k"
        ),
        channel="hall-1",
    )
    assert col.status(p.id).status is pc.Status.SUCCEEDED
    col.close()
