"""The simulated bank: its ledger, how it reads requests and when it answers.

``process_once`` answers every request file old enough (``delay``) and sends the late
returns that are due (``return_delay``). Requests are recorded in a SQLite ledger in the
state folder first, then the answer is written from the ledger, streaming, so a 300,000-debit
file costs constant memory. Result files appear atomically (dot-name, then rename).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from paychannels.bankfiles.cnbatch import read_request
from paychannels.bankfiles.errors import BankFileError
from paychannels.bankfiles.layout import Layout, available_layouts, load_layout
from paychannels.bankfiles.pain008_read import RequestDebit, read_pain008
from paychannels.bankfiles.validate import check_totals, validate_xsd
from paychannels.simulators.bank.answers import answer_pain008, answer_returns, answer_text
from paychannels.simulators.bank.outcomes import Mix

__all__ = ["BankSimulator"]

log = logging.getLogger("paychannels.simulators.bank")

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS msgs (msg_id TEXT PRIMARY KEY, name TEXT, kind TEXT, "
    "received REAL, status TEXT, reason TEXT)",
    "CREATE TABLE IF NOT EXISTS debits (ref TEXT PRIMARY KEY, msg_id TEXT, batch_id TEXT, "
    "amount INTEGER, currency TEXT, name TEXT, account TEXT, outcome TEXT, taken INTEGER, "
    "answered REAL, return_due REAL, returned REAL)",
    "CREATE INDEX IF NOT EXISTS debits_msg ON debits (msg_id)",
)


class BankSimulator:
    """A bank reading request files from ``inbox`` and writing result files to ``outbox``."""

    def __init__(
        self,
        inbox: Path,
        outbox: Path,
        *,
        state: Path | None = None,
        mix: Mix | None = None,
        reply: str = "camt.054",
        delay: float = 0.0,
        return_delay: float = 0.0,
        layouts: Sequence[str] | None = None,
        account: str = "15050171001234567890",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if reply not in ("pain.002.001.03", "pain.002.001.10", "camt.054"):
            raise ValueError("reply must be pain.002.001.03, pain.002.001.10 or camt.054")
        self.inbox, self.outbox = inbox, outbox
        self.state = state or inbox.parent / ".bank-sim"
        self.mix = mix or Mix()
        self.reply = reply
        self.delay = delay
        self.return_delay = return_delay
        self.layouts: list[Layout] = [load_layout(n) for n in (layouts or available_layouts())]
        self.account = account
        self.clock = clock
        for folder in (self.inbox, self.outbox, self.state / "received", self.state / "rejected"):
            folder.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.state / "ledger.sqlite", isolation_level=None)
        for stmt in _SCHEMA:
            self.db.execute(stmt)
        self._seq = int(self.db.execute("SELECT COUNT(*) FROM msgs").fetchone()[0])

    # -- the ledger -------------------------------------------------------------------------

    def charges(self, ref_prefix: str) -> int:
        """How many debits whose reference starts with ``ref_prefix`` took money and kept it."""
        row = self.db.execute(
            "SELECT COUNT(*) FROM debits WHERE ref LIKE ? AND taken > 0 AND returned IS NULL",
            (ref_prefix.replace("%", "") + "%",),
        ).fetchone()
        return int(row[0])

    def taken_minor(self) -> int:
        """Everything taken and not given back, in minor units."""
        row = self.db.execute(
            "SELECT COALESCE(SUM(taken), 0) FROM debits WHERE returned IS NULL"
        ).fetchone()
        return int(row[0])

    def next_id(self, prefix: str) -> str:
        """A message id for an answer."""
        self._seq += 1
        return f"{prefix}{datetime.fromtimestamp(self.clock(), UTC):%Y%m%d}{self._seq:08d}"

    def publish(self, name: str, write: Callable[[Path], None]) -> Path:
        """Write an answer under a dot-name and rename it into the outbox."""
        temp = self.outbox / f".{name}.part"
        write(temp)
        final = self.outbox / name
        os.replace(temp, final)
        return final

    # -- the work -----------------------------------------------------------------------------

    def process_once(self) -> list[Path]:
        """Answer the requests that are due and send due late returns; the files written."""
        written: list[Path] = []
        now = self.clock()
        for path in sorted(self.inbox.iterdir()):
            if not path.is_file() or path.name.startswith("."):
                continue
            if self.delay and now - path.stat().st_mtime < self.delay:
                continue
            written.extend(self._request(path))
        written.extend(answer_returns(self))
        return written

    def _request(self, path: Path) -> list[Path]:
        layout = next((lay for lay in self.layouts if _named_like(path.name, lay.file_name)), None)
        try:
            out = self._text(path, layout) if layout is not None else self._xml(path)
        except BankFileError as exc:
            log.warning("bank simulator rejects %s: %s", path.name, exc)
            os.replace(path, self.state / "rejected" / path.name)
            (self.state / "rejected" / f"{path.name}.reason.txt").write_text(
                str(exc) + "\n", "utf-8"
            )
            return []
        os.replace(path, self.state / "received" / path.name)
        return out

    def _xml(self, path: Path) -> list[Path]:
        message = validate_xsd(path)  # FF01 when invalid (raised as BankFileError)
        header = next(iter(read_pain008(path)))
        msg_id = getattr(header, "msg_id", None) or "UNKNOWN"
        problem = None
        try:
            check_totals(path)
        except BankFileError as exc:
            problem = ("AM18" if "NbOfTxs" in str(exc) else "AM10", exc.problem)
        if problem is None and self._seen(msg_id):
            problem = ("DU01", f"message id {msg_id} was received before")
        if problem is not None:
            self.db.execute(
                "INSERT OR IGNORE INTO msgs VALUES (?, ?, ?, ?, 'RJCT', ?)",
                (msg_id, path.name, message, self.clock(), problem[0]),
            )
            return answer_pain008(self, msg_id, message, rejected=problem)
        debits = (d for d in read_pain008(path) if isinstance(d, RequestDebit))
        self._record(
            msg_id,
            path.name,
            message,
            returns=True,
            rows=(
                (d.ref, d.batch_id, d.amount_minor, d.currency, d.name, d.account) for d in debits
            ),
        )
        return answer_pain008(self, msg_id, message, rejected=None)

    def _text(self, path: Path, layout: Layout) -> list[Path]:
        msg_id = _msg_of(path.name, layout.file_name)
        if self._seen(msg_id):
            raise BankFileError(path, f"batch {msg_id} was received before (duplicate)")

        def rows() -> Iterator[tuple[str, str, int, str, str, str]]:
            for kind, _line, v in read_request(path, layout):
                if kind == "detail":
                    yield (
                        v["serial"],
                        msg_id,
                        v["amount"],
                        layout.currency,
                        v["name"],
                        v["account"],
                    )

        self._record(msg_id, path.name, f"text:{layout.name}", returns=False, rows=rows())
        return answer_text(self, msg_id, layout)

    def _seen(self, msg_id: str) -> bool:
        return (
            self.db.execute("SELECT 1 FROM msgs WHERE msg_id = ?", (msg_id,)).fetchone() is not None
        )

    def _record(
        self,
        msg_id: str,
        name: str,
        kind: str,
        *,
        returns: bool,
        rows: Iterator[tuple[str, str, int, str, str, str]],
    ) -> None:
        """Store a request's debits with the outcome the mix draws for each (one transaction:
        a request that fails half-way leaves nothing behind). Text layouts have no return
        message, so a late return there is simply a success."""
        now = self.clock()
        self.db.execute("BEGIN")
        try:
            self.db.execute(
                "INSERT INTO msgs VALUES (?, ?, ?, ?, 'ACCP', NULL)", (msg_id, name, kind, now)
            )
            batch: list[tuple[object, ...]] = []
            for ref, batch_id, amount, ccy, dname, account in rows:
                outcome = self.mix.choose(ref)
                if outcome == "late_return" and not returns:
                    outcome = "ok"
                if outcome == "partial" and returns and self.reply.startswith("pain.002"):
                    outcome = "ok"  # a pain.002 cannot say "partly taken"
                taken = {"ok": amount, "late_return": amount, "partial": max(1, amount // 2)}.get(
                    outcome, 0
                )
                due = now + self.return_delay if outcome == "late_return" else None
                batch.append(
                    (
                        ref,
                        msg_id,
                        batch_id,
                        amount,
                        ccy,
                        dname,
                        account,
                        outcome,
                        taken,
                        now,
                        due,
                        None,
                    )
                )
                if len(batch) >= 5000:
                    self._insert(batch)
                    batch = []
            self._insert(batch)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def _insert(self, rows: list[tuple[object, ...]]) -> None:
        try:
            self.db.executemany("INSERT INTO debits VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        except sqlite3.IntegrityError as exc:
            raise BankFileError("request", f"a debit reference appears twice: {exc}") from None

    def run(self, *, interval: float = 1.0, stop: Callable[[], bool] = lambda: False) -> None:
        """Answer forever (until ``stop()``), looking every ``interval`` seconds."""
        while not stop():
            for path in self.process_once():
                log.info("bank simulator wrote %s", path.name)
            time.sleep(interval)

    def close(self) -> None:
        """Close the ledger."""
        self.db.close()


def _named_like(name: str, template: str) -> bool:
    head, _, tail = template.partition("{msg_id}")
    return name.startswith(head) and name.endswith(tail) and len(name) > len(head) + len(tail)


def _msg_of(name: str, template: str) -> str:
    head, _, tail = template.partition("{msg_id}")
    return name[len(head) : len(name) - len(tail)]
