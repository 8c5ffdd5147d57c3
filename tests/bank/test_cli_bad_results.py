"""``paychannels batch ingest`` on a malformed result file: a one-line typed error naming the
file and line (exit 2), never "internal error" — and nothing applied."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from paychannels import Collector, Status
from paychannels.cli.main import main
from tests.bank.cycle import build_day

BROKEN = {
    "camt_outside.xml": '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">'
    "<GrpHdr><MsgId>N1</MsgId></GrpHdr><TxDtls/></Document>",
    "camt_fullwidth.xml": '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">'
    '<GrpHdr><MsgId>N1</MsgId></GrpHdr><Ntfctn><Ntry><Amt Ccy="CNY">４００.００</Amt>'
    "<CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><NtryDtls><TxDtls><Refs>"
    "<EndToEndId>X</EndToEndId></Refs></TxDtls></NtryDtls></Ntry></Ntfctn></Document>",
    "pain_count.xml": '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10">'
    "<CstmrPmtStsRpt><OrgnlGrpInfAndSts><OrgnlMsgId>M</OrgnlMsgId>"
    "<OrgnlNbOfTxs>²</OrgnlNbOfTxs></OrgnlGrpInfAndSts></CstmrPmtStsRpt></Document>",
}


SAYS = {
    "camt_outside.xml": "TxDtls outside a NtryDtls",
    "camt_fullwidth.xml": "'４００.００' is not an amount",
    "pain_count.xml": "OrgnlNbOfTxs '²' is not a count",
}


@pytest.mark.parametrize("name", sorted(BROKEN))
@pytest.mark.slow
def test_ingest_of_a_malformed_file_is_a_typed_one_line_error(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = build_day(tmp_path, 3)
    bad = tmp_path / name
    bad.write_text(BROKEN[name], "utf-8")
    capsys.readouterr()
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(["batch", "ingest", str(bad), "--db", db])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "internal error" not in err and "Traceback" not in err
    assert name in err and "nothing was applied" in err and SAYS[name] in err
    with Collector.open(db) as col:
        assert col.journal.count_by_status() == {Status.PENDING: 3}
