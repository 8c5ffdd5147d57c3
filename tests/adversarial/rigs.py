"""Rigs: one per kind of channel, so that one kill harness covers them all.

A rig has two halves. In the test process (``Rig``) it starts the device — the memory
device's ledger file, a terminal simulator on TCP, a pty or its cloud, the provider
simulator, the bank simulator — tells the harness each time the device wrote money
(``on_device_write``), and answers, from the device's own ledger, how often money was
taken for and given back on a payment. In the killed backend process (``client``) it opens
a channel to that device from a JSON spec. Payments are told apart on the device by their
id where the device keeps it (memory, providers, bank) and by their amount on terminals
(every payment of a trial has its own amount).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from paychannels import Channel, Payment, Record, open_channel
from paychannels.bankfiles.model import Creditor
from paychannels.channels.bank import BankBatchChannel
from paychannels.channels.bank.formats import open_format
from paychannels.channels.ledger import FileLedger, Ledger, LedgerEntry
from paychannels.channels.memory import Behaviour, MemoryChannel

#: amounts (minor units) that devices decline, and that they charge but whose answer is
#: lost (memory, terminals); every other amount is approved
DECLINED = range(5000, 6000)
LOST_REPLY = range(6000, 7000)

Spec = dict[str, Any]


@dataclass(frozen=True)
class Taken:
    """What the device's own ledger says about one payment."""

    charges: int  # how often money was taken and kept
    refunds: int  # how often the payment's amount was given back


class Rig(ABC):
    """The test-process half of a channel kind; see the module docstring."""

    name: ClassVar[str]
    refunds: ClassVar[bool] = True  # the channel can give money back
    device_in_backend: ClassVar[bool] = False  # the device runs inside the backend process
    batch: ClassVar[bool] = False  # results come by polling files

    def __init__(self, root: Path) -> None:
        self.root = root
        self._on_write: Callable[[str], None] | None = None

    @abstractmethod
    def start(self) -> Spec:
        """Start the device; the spec a backend process needs to open a channel to it."""

    def on_device_write(self, hook: Callable[[str], None] | None) -> None:
        """Call ``hook(what)`` right after each write of money on the device (None: stop)."""
        self._on_write = hook

    def device_wrote(self, what: str) -> None:
        hook = self._on_write
        if hook is not None:
            hook(what)

    def kill_after_writes(self, spec: Spec, n: int) -> Spec:
        """The spec for a backend that is killed right after the device's ``n``-th write.

        Devices outside the backend process are watched from here; the memory device lives
        inside it and kills its own process instead (see ``KillingLedger``).
        """
        return spec

    @abstractmethod
    def taken(self, payment: Record, amount_minor: int) -> Taken:
        """The device's truth about one payment."""

    @abstractmethod
    def stray(self, known: set[str], amounts: set[int]) -> int:
        """Money movements on the device that belong to no payment of the plan."""

    @abstractmethod
    def stop(self) -> None:
        """Stop the device."""


# -- memory:// --------------------------------------------------------------------------------


class KillingLedger:
    """A memory device that dies (SIGKILL, its whole process) right after its n-th write."""

    def __init__(self, inner: Ledger, kill_after: int) -> None:
        self.inner = inner
        self.left = kill_after

    def get(self, key: str) -> LedgerEntry | None:
        return self.inner.get(key)

    def record(self, entry: LedgerEntry) -> LedgerEntry:
        stored = self.inner.record(entry)
        self.left -= 1
        if self.left == 0:
            os.kill(os.getpid(), signal.SIGKILL)
        return stored

    def entries(self) -> list[LedgerEntry]:
        return self.inner.entries()


def _memory_rule(record: Record) -> Behaviour | None:
    if record.amount.minor in DECLINED:
        return Behaviour.DECLINE
    if record.amount.minor in LOST_REPLY:
        return Behaviour.LOSE_REPLY
    return None


class MemoryRig(Rig):
    """``memory://`` with its ledger in a file: the device's ledger is its own truth."""

    name = "memory"
    device_in_backend = True

    def start(self) -> Spec:
        self.path = self.root / "device.sqlite"
        self.ledger = FileLedger(self.path)
        return {"rig": self.name, "ledger": str(self.path), "kill_after": 0}

    def kill_after_writes(self, spec: Spec, n: int) -> Spec:
        return {**spec, "kill_after": n}

    def taken(self, payment: Record, amount_minor: int) -> Taken:
        entry = self.ledger.get(payment.id)
        if entry is None:
            return Taken(0, 0)
        return Taken(entry.charges, entry.refunded_minor // amount_minor)

    def stray(self, known: set[str], amounts: set[int]) -> int:
        return sum(e.charges for e in self.ledger.entries() if e.key not in known)

    def stop(self) -> None:
        """The ledger is a file: nothing runs."""


def memory_client(spec: Spec) -> Channel:
    ledger: Ledger = FileLedger(spec["ledger"])
    if spec["kill_after"]:
        ledger = KillingLedger(ledger, spec["kill_after"])
    channel = MemoryChannel(ledger)
    channel.rules.append(_memory_rule)
    return channel


# -- terminal simulators: ZVT over TCP and a pty, MIS-POS, nexo ---------------------------------


class TerminalRig(Rig):
    """A terminal simulator in the test process; its journal is the truth, by amount."""

    PASSWORD = "246813"

    def simulator(self) -> Any:
        from paychannels.simulators.terminal import Rule, Script, TerminalSimulator

        sim = TerminalSimulator(password=int(self.PASSWORD), ack_timeout=1.0, t2=0.3)
        rules = sim.terminal.scripts.rules
        rules.append(Rule(Script(outcome="decline"), "payment", DECLINED.start, DECLINED.stop - 1))
        lost = Script(faults=frozenset({"disconnect_after_approval"}))  # booked, answer lost
        rules.append(Rule(lost, "payment", LOST_REPLY.start, LOST_REPLY.stop - 1))
        sim.terminal.journal.watchers.append(lambda txn: self.device_wrote(txn.kind))
        self.sim = sim
        return sim

    def taken(self, payment: Record, amount_minor: int) -> Taken:
        txns = self.sim.terminal.journal.txns
        charges = sum(
            1
            for t in txns
            if t.kind == "payment" and t.approved and not t.reversed and t.amount == amount_minor
        )
        refunds = sum(
            1 for t in txns if t.kind == "refund" and t.approved and t.amount == amount_minor
        )
        return Taken(charges, refunds)

    def stray(self, known: set[str], amounts: set[int]) -> int:
        return sum(
            1
            for t in self.sim.terminal.journal.txns
            if t.kind in ("payment", "refund") and t.approved and t.amount not in amounts
        )

    def stop(self) -> None:
        self.sim.close()


class ZvtTcpRig(TerminalRig):
    name = "zvt+tcp"

    def start(self) -> Spec:
        host, port = self.simulator().serve_tcp("127.0.0.1", 0)
        url = f"zvt+tcp://{host}:{port}?t3=1&t4=3&t2=1"
        return {"rig": self.name, "url": url, "options": {"password": self.PASSWORD}}


class ZvtSerialRig(TerminalRig):
    name = "zvt+serial"

    def start(self) -> Spec:
        path = self.simulator().serve_pty()
        url = f"zvt+serial://{path}?baudrate=9600&stopbits=2&t3=1&t4=3&t2=1"
        return {"rig": self.name, "url": url, "options": {"password": self.PASSWORD}}


class MisposRig(TerminalRig):
    name = "mispos+serial"
    profile = "fs-delimited"

    def start(self) -> Spec:
        from paychannels.drivers.mispos.profile_checks import load

        path = self.simulator().serve_mispos(load(self.profile))
        url = f"mispos+serial://{path}?profile={self.profile}&answer_timeout=1"
        return {"rig": self.name, "url": url, "options": {}}


class NexoRig(TerminalRig):
    name = "nexo+http"
    POIID = "P400Plus-275039202"
    API_KEY = "AQEyhmfxK4-adversarial-key-0123456789"

    def start(self) -> Spec:
        base = self.simulator().serve_nexo(
            poiid=self.POIID, api_key=self.API_KEY, cloud_timeout=5.0
        )
        url = f"nexo+{base}/?poi={self.POIID}&status_wait=0&timeout=5"
        return {
            "rig": self.name,
            "url": url,
            "options": {"api_key": self.API_KEY, "backoff": 0.01},
        }


def url_client(spec: Spec) -> Channel:
    return open_channel(spec["url"], **spec["options"])


# -- providers --------------------------------------------------------------------------------


class ProviderRig(Rig):
    """The provider simulator over HTTP; every payer pays at once; the book is the truth."""

    provider: ClassVar[str]

    def start(self) -> Spec:
        from paychannels.simulators.provider import ProviderSimulator, Script
        from tests.contract.harnesses.mobile import sim_keys

        self.sim = ProviderSimulator(
            sim_keys(), auto_notify=False, script=Script(default_payer="pay_now")
        ).start()
        self.sim.book.watchers.append(lambda what, _order: self.device_wrote(what))
        k = self.sim.keys
        notify = "http://127.0.0.1:9/notify"  # nobody listens: the backend asks instead
        if self.provider == "wechatpay":
            url = f"wechatpay+{self.sim.url}?mchid={k.mchid}&appid={k.appid}&trade_type=native"
            options = {"notify_url": notify, "backoff": 0.01, **k.wechat_options()}
        else:
            url = f"alipay+{self.sim.alipay_gateway}?app_id={k.alipay_app_id}&product=precreate"
            options = {
                "notify_url": notify,
                "seller_id": k.alipay_seller_id,
                "backoff": 0.01,
                **k.alipay_options(),
            }
        return {"rig": self.name, "url": url, "options": options}

    def taken(self, payment: Record, amount_minor: int) -> Taken:
        return Taken(
            self.sim.charges(payment.id), self.sim.refunded_minor(payment.id) // amount_minor
        )

    def stray(self, known: set[str], amounts: set[int]) -> int:
        return sum(o.charges for o in self.sim.book.orders() if o.number not in known)

    def stop(self) -> None:
        self.sim.stop()


class WechatRig(ProviderRig):
    name = "wechatpay"
    provider = "wechatpay"


class AlipayRig(ProviderRig):
    name = "alipay"
    provider = "alipay"


# -- bank batch debit -----------------------------------------------------------------------------


REPLY = "pain.002.001.10"


class BankRig(Rig):
    """pain.008 out, pain.002 back through folders; the bank simulator answers in a thread.

    Its device writes are the files: the request file the backend wrote (seen in the bank's
    inbox) and the result file the bank wrote (waiting in the backend's inbox).
    """

    name = "bank"
    refunds = False
    batch = True

    def start(self) -> Spec:
        self.exchange = self.root / "exchange"
        channel = bank_client({"exchange": str(self.exchange)})
        assert isinstance(channel, BankBatchChannel)
        channel.exchange.ensure()
        self._folders = (channel.exchange.outbox, channel.exchange.inbox)
        self._stop = threading.Event()
        self._up = threading.Event()
        self._thread = threading.Thread(target=self._answer, daemon=True)
        self._thread.start()
        assert self._up.wait(10), "the bank simulator did not start"
        self.ledger = sqlite3.connect(self.root / "bank" / "ledger.sqlite")
        return {"rig": self.name, "exchange": str(self.exchange)}

    def _answer(self) -> None:
        """The bank, in its own thread (its ledger connection belongs to it)."""
        from paychannels.simulators.bank import BankSimulator, Mix

        sim = BankSimulator(*self._folders, state=self.root / "bank", mix=Mix(), reply=REPLY)
        self._up.set()
        seen: set[str] = set()
        try:
            while not self._stop.wait(0.02):
                requests = {p.name for p in sim.inbox.iterdir() if not p.name.startswith(".")}
                if requests - seen:
                    seen |= requests
                    self.device_wrote("request file")
                if sim.process_once():
                    self.device_wrote("result file")
        finally:
            sim.close()

    def taken(self, payment: Record, amount_minor: int) -> Taken:
        ulid = payment.id.removeprefix("pay_")
        (n,) = self.ledger.execute(
            "SELECT COUNT(*) FROM debits WHERE ref LIKE ? AND taken > 0 AND returned IS NULL",
            (f"{ulid}-%",),
        ).fetchone()
        return Taken(int(n), 0)

    def stray(self, known: set[str], amounts: set[int]) -> int:
        rows = self.ledger.execute(
            "SELECT ref FROM debits WHERE taken > 0 AND returned IS NULL"
        ).fetchall()
        return sum(1 for (ref,) in rows if f"pay_{str(ref).partition('-')[0]}" not in known)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.ledger.close()


def _mandate(payment: Payment) -> Mapping[str, str]:
    digits = "".join(c for c in payment.payer_id if c.isdigit())[-12:]
    return {
        "account": f"6217{digits:0>12}",
        "bank": "105191000011",
        "mandate_id": f"DK{digits}",
        "mandate_date": "2025-03-01",
    }


def bank_client(spec: Spec) -> Channel:
    creditor = Creditor(
        name="社保局", account="15050171001234567890", bank="105191000011", msg_prefix="CT"
    )
    return BankBatchChannel(
        Path(spec["exchange"]),
        format=open_format("pain.008.001.08"),
        creditor=creditor,
        mandates=_mandate,
    )


RIGS: dict[str, type[Rig]] = {
    rig.name: rig
    for rig in (
        MemoryRig,
        ZvtTcpRig,
        ZvtSerialRig,
        NexoRig,
        MisposRig,
        WechatRig,
        AlipayRig,
        BankRig,
    )
}
CLIENTS: dict[str, Callable[[Spec], Channel]] = {
    "memory": memory_client,
    "bank": bank_client,
}


def client(spec: Spec) -> Channel:
    """In the backend process: the channel to the rig's device."""
    return CLIENTS.get(spec["rig"], url_client)(spec)
