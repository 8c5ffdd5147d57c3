"""One distribution maps src/paychannels, drivers/ and simulators/ into one package tree."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TREES = {
    "src/paychannels": "paychannels",
    "drivers": "paychannels.drivers",
    "simulators": "paychannels.simulators",
}


def on_disk_packages() -> set[str]:
    found = set()
    for folder, package in TREES.items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            rel = init.parent.relative_to(base)
            if folder == "src/paychannels" and rel.parts[:1] in (("drivers",), ("simulators",)):
                continue
            found.add(".".join([package, *rel.parts]))
    return found


def test_every_package_folder_is_listed_in_pyproject() -> None:
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    assert on_disk_packages() == listed


@pytest.mark.slow
def test_wheel_holds_all_three_trees(tmp_path: Path) -> None:
    # built from a copy: setuptools leaves build/ in the folder it builds, and the source tree
    # must stay as the tests found it (tests/adversarial/test_public_surface.py watches it)
    source = tmp_path / "source"
    for name in ("pyproject.toml", "README.md"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    for folder in TREES:
        shutil.copytree(
            ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(wheels.glob("paychannels-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for package in on_disk_packages():
        assert f"{package.replace('.', '/')}/__init__.py" in names, package
    assert "paychannels/py.typed" in names
    # the reports' and notices' templates, read through importlib.resources when installed
    templates = ROOT / "src/paychannels/documents/templates"
    shipped = {Path(n).name for n in names if n.startswith("paychannels/documents/templates/")}
    assert shipped == {p.name for p in templates.glob("*.html.j2")} and shipped
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "paychannels = paychannels.cli.main:main" in text
    assert "paychannels-sim = paychannels.simulators.cli:main" in text
