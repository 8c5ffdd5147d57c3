"""The official ISO 20022 schemas for tests: from shared/iso20022 when present, else the
copies shipped in the package (a test checks the two are the same bytes)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parents[2]
PACKAGED = ROOT / "src" / "paychannels" / "bankfiles" / "xsd"
SHARED = [
    ROOT.parent / "shared" / "iso20022",
    ROOT.parent.parent / "shared" / "iso20022",
    Path("/work/shared/iso20022"),
]


def official_dir() -> Path | None:
    return next((p for p in SHARED if (p / "pain.008.001.08.xsd").is_file()), None)


@cache
def schema(message: str) -> etree.XMLSchema:
    folder = official_dir() or PACKAGED
    return etree.XMLSchema(etree.parse(str(folder / f"{message}.xsd")))


def assert_valid(path: Path, message: str) -> None:
    xsd = schema(message)
    doc = etree.parse(str(path))
    assert xsd.validate(doc), f"{path.name}: {xsd.error_log}"
