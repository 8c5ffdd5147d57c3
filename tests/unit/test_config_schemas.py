"""The JSON Schemas in docs/schemas/ are the models': a change to a model must republish them.

Editors validate profile, layout, creditor and calendar files with these schemas; one that
drifted from the model would pass a file the library refuses. Regenerate after changing a
model with ``python -m tests.unit.test_config_schemas``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from paychannels.bankfiles.calendar import CalendarFile
from paychannels.bankfiles.layout import LayoutFile
from paychannels.bankfiles.model import CreditorDocument
from paychannels.drivers.mispos.profile_file import ProfileFile

FOLDER = Path(__file__).resolve().parents[2] / "docs" / "schemas"
SCHEMAS: dict[str, type[BaseModel]] = {
    "mispos-profile.json": ProfileFile,
    "bank-layout.json": LayoutFile,
    "creditor.json": CreditorDocument,
    "calendar.json": CalendarFile,
}


def published(model: type[BaseModel]) -> str:
    """The schema text as published: draft 2020-12, keys sorted, one trailing newline."""
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema"}
    schema.update(model.model_json_schema())
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("name", SCHEMAS)
def test_published_schema_is_the_models(name: str) -> None:
    path = FOLDER / name
    assert path.is_file(), f"{path} is missing: python -m tests.unit.test_config_schemas"
    assert path.read_text("utf-8") == published(SCHEMAS[name]), (
        f"{path} differs from {SCHEMAS[name].__name__}: python -m tests.unit.test_config_schemas"
    )


def test_the_schemas_refuse_unknown_keys() -> None:
    for name, model in SCHEMAS.items():
        schema = json.loads(published(model))
        assert schema["additionalProperties"] is False, name


if __name__ == "__main__":
    for name, model in SCHEMAS.items():
        (FOLDER / name).write_text(published(model), encoding="utf-8")
        sys.stdout.write(f"wrote {FOLDER / name}\n")
