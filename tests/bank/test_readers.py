"""Result-file readers against hand-written samples (fixtures/bank) and against garbage.

Every reader either yields what the file says or raises ``BankFileError`` naming the file and
the line; nothing else escapes, whatever the bytes (fuzzed with hypothesis).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paychannels.bankfiles.camt054 import read_camt054
from paychannels.bankfiles.cnbatch import read_result
from paychannels.bankfiles.errors import BankFileError
from paychannels.bankfiles.layout import load_layout
from paychannels.bankfiles.pain002 import read_pain002
from paychannels.bankfiles.results import BatchBooking, FileHeader, Statement, TxResult
from paychannels.bankfiles.validate import validate_xsd
from tests.bank.xsd import assert_valid

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "bank"


def txs(items: object) -> dict[str, TxResult]:
    return {t.ref: t for t in items if isinstance(t, TxResult)}  # type: ignore[attr-defined]


def test_pain002_v03_every_status_and_reason_path() -> None:
    path = FIXTURES / "status_rejected_v03.xml"
    assert_valid(path, "pain.002.001.03")
    items = list(read_pain002(path))
    header = items[0]
    assert isinstance(header, FileHeader) and header.original_msg_id == "KYQ20260302000001"
    assert isinstance(items[1], Statement) and items[1].outcome == "partial"
    t = txs(items)
    assert {k: (v.outcome, v.reason) for k, v in t.items()} == {
        "E2E-AC01": ("failed", "AC01"),
        "E2E-MS02": ("failed", "MS02"),
        "E2E-MD06": ("failed", "MD06"),
        "E2E-AM04": ("failed", "AM04"),
        "E2E-ACSC": ("succeeded", None),
        "E2E-ACCP": ("pending", None),
        "E2E-PRTRY": ("failed", "户名不符"),
    }
    assert t["E2E-AM04"].requested_minor == 1234 and t["E2E-AM04"].info == "余额不足"
    assert t["E2E-ACSC"].taken_minor == 38000
    assert t["E2E-AC01"].line == 15


def test_pain002_v10_unknown_codes_are_accepted_and_batch_statuses_read() -> None:
    path = FIXTURES / "status_mixed_v10.xml"
    assert_valid(path, "pain.002.001.10")
    items = list(read_pain002(path))
    t = txs(items)
    assert t["E2E-NEW"].outcome == "unknown" and t["E2E-NEW"].code == "XYZ1"
    assert t["E2E-ZZ99"].reason == "ZZ99"
    assert t["E2E-ACSP"].outcome == "pending"
    batch = [i for i in items if isinstance(i, Statement) and i.batch_id and i.code]
    assert [(b.batch_id, b.outcome, b.reason) for b in batch] == [
        ("KYQ20260302000002-002", "failed", "AM17")
    ]


def test_pain002_file_rejected_whole() -> None:
    items = list(read_pain002(FIXTURES / "status_file_rejected_v10.xml"))
    assert [type(i).__name__ for i in items] == ["FileHeader", "Statement"]
    assert items[1].outcome == "failed" and items[1].reason == "DU01"  # type: ignore[union-attr]


def test_camt054_batched_entries_partial_pending_and_returns() -> None:
    path = FIXTURES / "notification_batched_v08.xml"
    assert_valid(path, "camt.054.001.08")
    t = txs(read_camt054(path))
    assert (t["E2E-A"].outcome, t["E2E-A"].taken_minor) == ("succeeded", 38000)
    assert (t["E2E-PARTIAL"].taken_minor, t["E2E-PARTIAL"].requested_minor) == (19000, 38000)
    assert t["E2E-PDNG"].outcome == "pending"
    assert (t["E2E-RETURNED"].outcome, t["E2E-RETURNED"].reason) == ("returned", "AM04")


def test_camt054_plain_status_form_and_batch_booking() -> None:
    items = list(read_camt054(FIXTURES / "notification_plain_status_v02.xml"))
    assert txs(items)["E2E-V02"].outcome == "succeeded"
    booking = [i for i in items if isinstance(i, BatchBooking)]
    assert [(b.batch_id, b.count, b.sum_minor) for b in booking] == [
        ("KYQ20260302000001-002", 2, 76000)
    ]


def test_icbc_fixed_result_partial_and_chinese_reasons() -> None:
    items = list(read_result(FIXTURES / "PKKYQ20260302000004.ret", load_layout("icbc-fixed")))
    assert items[0].original_msg_id == "KYQ20260302000004"  # type: ignore[union-attr]
    t = txs(items)
    assert (t["E2E-PART"].outcome, t["E2E-PART"].taken_minor, t["E2E-PART"].requested_minor) == (
        "succeeded",
        19000,
        38000,
    )
    assert (t["E2E-NSF"].outcome, t["E2E-NSF"].reason) == ("failed", "余额不足")
    assert t["E2E-CLOSED"].reason == "销户"
    assert t["E2E-WAIT"].outcome == "pending" and t["E2E-ODD"].outcome == "unknown"


def test_ccb_pipe_result() -> None:
    t = txs(read_result(FIXTURES / "DKKYQ20260302000005_HP.txt", load_layout("ccb-pipe")))
    assert (t["E2E-PART"].taken_minor, t["E2E-NSF"].reason, t["E2E-NOAGREE"].outcome) == (
        10000,
        "AM04",
        "failed",
    )


@pytest.mark.parametrize("name", ["attack_billion_laughs.xml", "attack_xxe.xml"])
def test_entity_attacks_are_refused_before_parsing(name: str) -> None:
    with pytest.raises(BankFileError, match=r"line 2: .*DOCTYPE") as info:
        list(read_pain002(FIXTURES / name))
    assert info.value.file == name
    with pytest.raises(BankFileError, match="DOCTYPE"):
        validate_xsd(FIXTURES / name)


def test_truncated_file_names_the_line() -> None:
    with pytest.raises(
        BankFileError, match=r"status_truncated.xml line \d+: not well-formed"
    ) as info:
        list(read_pain002(FIXTURES / "status_truncated.xml"))
    assert info.value.line > 20


def test_wrong_totals_line_refuses_the_whole_text_file(tmp_path: Path) -> None:
    raw = (FIXTURES / "DKKYQ20260302000005_HP.txt").read_bytes().replace(b"|48000", b"|48001")
    bad = tmp_path / "DKKYQ20260302000005_HP.txt"
    bad.write_bytes(raw)
    with pytest.raises(BankFileError, match=r"line 6: totals line says taken_total 48001"):
        list(read_result(bad, load_layout("ccb-pipe")))


def test_wrong_encoding_names_line_and_field(tmp_path: Path) -> None:
    raw = (FIXTURES / "PKKYQ20260302000004.ret").read_bytes()
    bad = tmp_path / "PKKYQ20260302000004.ret"
    bad.write_bytes(raw.decode("gb18030").encode("utf-8"))
    with pytest.raises(BankFileError, match=r"line 1"):
        list(read_result(bad, load_layout("icbc-fixed")))


def test_xml_amount_with_too_many_decimals(tmp_path: Path) -> None:
    text = (FIXTURES / "status_rejected_v03.xml").read_text("utf-8").replace("12.34", "12.345")
    bad = tmp_path / "s.xml"
    bad.write_text(text, "utf-8")
    with pytest.raises(
        BankFileError, match=r"s.xml line 31 \(InstdAmt\): InstdAmt 12.345 has more than 2 decimals"
    ):
        list(read_pain002(bad))


READERS = {
    "pain002": lambda p: list(read_pain002(p)),
    "camt054": lambda p: list(read_camt054(p)),
    "icbc": lambda p: list(read_result(p, load_layout("icbc-fixed"))),
}
SOURCES = {
    "pain002": "status_rejected_v03.xml",
    "camt054": "notification_batched_v08.xml",
    "icbc": "PKKYQ20260302000004.ret",
}


@pytest.mark.parametrize("kind", sorted(READERS))
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
@pytest.mark.slow
def test_fuzzed_files_give_only_bank_file_errors(
    tmp_path: Path, kind: str, data: st.DataObject
) -> None:
    raw = bytearray((FIXTURES / SOURCES[kind]).read_bytes())
    action = data.draw(st.sampled_from(["truncate", "flip", "insert", "delete"]))
    at = data.draw(st.integers(0, len(raw) - 1))
    if action == "truncate":
        raw = raw[:at]
    elif action == "flip":
        raw[at] = data.draw(st.integers(0, 255))
    elif action == "insert":
        raw[at:at] = data.draw(st.binary(min_size=1, max_size=8))
    else:
        del raw[at : at + data.draw(st.integers(1, 40))]
    path = tmp_path / SOURCES[kind]
    path.write_bytes(bytes(raw))
    try:
        READERS[kind](path)
    except BankFileError as exc:
        error: BankFileError | None = exc
    else:
        error = None
    assert error is None or error.file == SOURCES[kind]
