"""Result-file readers on mutated valid files: only ``BankFileError``, naming the file.

Byte-level fuzzing (``test_readers``) rarely reaches the shapes that broke the readers: an
element moved out of its parent, a count or amount in full-width digits, a 5,000-digit
number, a field emptied. These mutations work on the structure — XML elements and text
fields of the layouts — of every format we read, and run the whole ``ResultFileReport``
path as ``poll`` does.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from paychannels.bankfiles.camt054 import read_camt054
from paychannels.bankfiles.cnbatch import read_result
from paychannels.bankfiles.errors import BankFileError
from paychannels.bankfiles.layout import load_layout
from paychannels.bankfiles.pain002 import read_pain002
from paychannels.channels.bank.ingest import result_items

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "bank"
NASTY = [
    "",
    " ",
    "４００.００",
    "٤٠٠",
    "²",
    "1E+999999",
    "-5",
    "+1",
    "NaN",
    "9" * 5000,
    "0." + "1" * 40,
    "1.2.3",
    "\u202e380.00",
    "ＡＣＳＣ",
    "RJCT",
    "ACSC",
    "BOOK",
    "CRDT",
    "DBIT",
    "E2E-OK",
    "01JD3M8Q2W5X7Y9Z0ABCDEFGHJ-1",
]
XML = {
    "pain002-v03": ("status_rejected_v03.xml", read_pain002),
    "pain002-v10": ("status_mixed_v10.xml", read_pain002),
    "camt054-batched": ("notification_batched_v08.xml", read_camt054),
    "camt054-plain": ("notification_plain_status_v02.xml", read_camt054),
}
TEXT = {
    "icbc-fixed": ("PKKYQ20260302000004.ret", "icbc-fixed"),
    "ccb-pipe": ("DKKYQ20260302000005_HP.txt", "ccb-pipe"),
}


def _only_bank_file_errors(path: Path, read: object) -> None:
    error: BankFileError | None = None
    try:
        list(read(path))  # type: ignore[operator]
    except BankFileError as exc:
        error = exc
    assert error is None or error.file == path.name


def _mutate_xml(raw: bytes, data: st.DataObject) -> bytes:
    root = etree.fromstring(raw)
    elements = [e for e in root.iter() if isinstance(e.tag, str)]
    for _ in range(data.draw(st.integers(1, 3))):
        target = data.draw(st.sampled_from(elements))
        action = data.draw(st.sampled_from(["text", "remove", "duplicate", "hoist", "attr"]))
        parent = target.getparent()
        if action == "text":
            target.text = data.draw(st.sampled_from(NASTY))
        elif action == "attr":
            target.set("Ccy", data.draw(st.sampled_from(["", "cny", "XXX", "ＣＮＹ", "CNY"])))
        elif parent is None:
            continue
        elif action == "remove":
            parent.remove(target)
        elif action == "duplicate":
            parent.append(etree.fromstring(etree.tostring(target)))
        else:  # the element moved up to the document's root, out of its context
            root.insert(0, etree.fromstring(etree.tostring(target)))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


@pytest.mark.parametrize("kind", sorted(XML))
@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
@pytest.mark.slow
def test_mutated_xml_results_give_only_bank_file_errors(
    tmp_path: Path, kind: str, data: st.DataObject
) -> None:
    name, read = XML[kind]
    path = tmp_path / name
    path.write_bytes(_mutate_xml((FIXTURES / name).read_bytes(), data))
    _only_bank_file_errors(path, read)
    _only_bank_file_errors(path, lambda p: result_items(p, None))


def _mutate_text(raw: bytes, layout_name: str, data: st.DataObject) -> bytes:
    layout = load_layout(layout_name)
    ending = layout.line_ending.encode()
    lines = raw.split(ending)
    at = data.draw(st.integers(0, max(len(lines) - 1, 0)))
    line = lines[at]
    value = data.draw(st.sampled_from(NASTY)).encode("gb18030")
    if layout.kind == "delimited":
        fields = line.split(layout.delimiter.encode())
        i = data.draw(st.integers(0, len(fields) - 1))
        fields[i] = value
        line = layout.delimiter.encode().join(fields)
    else:  # fixed width: overwrite a field-sized span, keeping the line's length
        start = data.draw(st.integers(0, max(len(line) - 1, 0)))
        width = data.draw(st.integers(1, 18))
        chunk = value[:width].ljust(width, b" ")
        line = line[:start] + chunk + line[start + width :]
        line = line[: len(lines[at])]
    lines[at] = line
    if data.draw(st.booleans()):
        lines.insert(data.draw(st.integers(0, len(lines))), data.draw(st.sampled_from(lines)))
    return ending.join(lines)


@pytest.mark.parametrize("kind", sorted(TEXT))
@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
@pytest.mark.slow
def test_mutated_text_results_give_only_bank_file_errors(
    tmp_path: Path, kind: str, data: st.DataObject
) -> None:
    name, layout_name = TEXT[kind]
    path = tmp_path / name
    path.write_bytes(_mutate_text((FIXTURES / name).read_bytes(), layout_name, data))
    layout = load_layout(layout_name)
    _only_bank_file_errors(path, lambda p: read_result(p, layout))


@pytest.mark.parametrize(
    ("kind", "old", "new"),
    [
        ("ccb-pipe", b"|38000|38000|F|", "|３８０００|３８０００|F|".encode("gb18030")),
        ("ccb-pipe", b"1|6217", "¹|6217".encode("gb18030")),
    ],
)
def test_amounts_and_numbers_in_full_width_or_other_digits_are_refused(
    tmp_path: Path, kind: str, old: bytes, new: bytes
) -> None:
    name, layout_name = TEXT[kind]
    raw = (FIXTURES / name).read_bytes()
    assert old in raw
    path = tmp_path / name
    path.write_bytes(raw.replace(old, new, 1))
    with pytest.raises(BankFileError, match="line 2"):
        list(read_result(path, load_layout(layout_name)))


def test_full_width_amounts_in_xml_are_refused(tmp_path: Path) -> None:
    raw = (FIXTURES / "notification_batched_v08.xml").read_text("utf-8")
    path = tmp_path / "n.xml"
    path.write_text(raw.replace(">950.00<", ">９５０.００<"), "utf-8")
    with pytest.raises(BankFileError, match=r"Amt '９５０.００' is not an amount"):
        list(read_camt054(path))
