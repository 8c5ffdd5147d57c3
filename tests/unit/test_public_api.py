"""The public API is what ``__all__`` says, and every name in it exists and is documented."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import paychannels


def test_all_matches_public_names() -> None:
    public = {n for n in dir(paychannels) if not n.startswith("_") and n not in {"annotations"}}
    modules = {n for n in public if inspect.ismodule(getattr(paychannels, n))}
    assert set(paychannels.__all__) | {"__version__"} >= public - modules
    for name in paychannels.__all__:
        assert hasattr(paychannels, name), name


def test_all_is_sorted_without_duplicates() -> None:
    names = [n for n in paychannels.__all__ if n != "__version__"]
    assert len(names) == len(set(names))


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
