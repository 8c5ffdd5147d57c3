"""The simulators the demo runs, each behind one small interface (``Running``).

A running simulator says where the channel is (URL and options), arms faults for the
next payment and reports what it saw of them, records the channel's settlement figures at
the end of the day the way the real channel does (terminal end of day, the provider's
bill, the bank's result files), and tells the truth: how often it took money for a
payment, and anything it saw that must never happen (a forged callback accepted).
"""

from __future__ import annotations

import shutil
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, ClassVar

from paychannels.bankfiles.ids import payment_of
from paychannels.bankfiles.model import Creditor
from paychannels.channels.base import Channel
from paychannels.channels.mobile import MobilePayChannel
from paychannels.collector import Collector
from paychannels.collector.feed import ProgressWatcher
from paychannels.demo.dice import Dice
from paychannels.demo.receiver import Receiver
from paychannels.drivers.zvt import TerminalChannel, TerminalEvent
from paychannels.runtime.countytime import CountyTime
from paychannels.simulators.bank import BankSimulator, Mix
from paychannels.simulators.bank.outcomes import OUTCOMES
from paychannels.simulators.provider import NotifyFaults, ProviderSimulator, Script, SimKeys
from paychannels.simulators.provider.book import Conflict
from paychannels.simulators.terminal import Script as TerminalScript
from paychannels.simulators.terminal import TerminalSimulator

__all__ = [
    "BankSim",
    "Observed",
    "ProviderSim",
    "Running",
    "Stage",
    "TerminalSim",
]

PASSWORD = "246813"  # noqa: S105 - the simulated terminal's, printed on its label
#: ZVT timers short enough for a demo (a real hall keeps the defaults)
_TIMERS = "t3=0.6&t4=3&t2=1"
#: what each demo fault name does on a terminal
_TERMINAL_FAULTS = {
    "timeout": TerminalScript(faults=frozenset({"lose_request"})),
    "lost answer": TerminalScript(faults=frozenset({"disconnect_after_approval"})),
    "power cut after booking": TerminalScript(
        faults=frozenset({"power_cycle_after_booking"}), off_for=0.5
    ),
    "garbled answer": TerminalScript(faults=frozenset({"garble_reply"})),
    "declined card": TerminalScript(outcome="insufficient_funds"),
}
#: what each demo fault name does at a provider (faults on the create call; payer behaviour)
_PROVIDER_FAULTS: dict[str, tuple[str | None, str | None]] = {
    "lost request": ("lose_request", None),
    "lost answer": ("lose_reply", None),
    "server error": ("error_500", None),
    "slow answer": ("slow", None),
    "garbled answer": ("garble_reply", None),
    "abandoned order": (None, "open"),
}
#: bank outcomes the demo scripts for its first debits (the rest follow the mix)
_BANK_FAULTS = {
    "insufficient funds": "insufficient_funds",
    "closed account": "closed",
    "partial debit": "partial",
    "late return": "late_return",
}


@dataclass
class Stage:
    """What the simulators share: the workspace, the provider keys, the callback endpoint."""

    folder: Path
    keys: SimKeys
    receiver: Receiver
    seed: int
    day: date
    #: the cashier's screen: hears what each channel says while a payment goes on
    #: (``Collector.watch_progress``); a simulated payer may act on it
    screen: Callable[[ProgressWatcher], Callable[[], None]]

    def days_so_far(self) -> list[date]:
        """Every day (the county's, Beijing time) from the collection day to today: the days
        a bill or a settlement report is asked for."""
        today = CountyTime().today()
        return [self.day + timedelta(days=n) for n in range((today - self.day).days + 1)]


@dataclass(frozen=True)
class Observed:
    """What a simulator saw of a fault beyond the payment's own state; ``wrong`` when it
    must not happen (the fault then stays open and the day does not balance)."""

    text: str
    wrong: bool = False


class Running(ABC):
    """A started simulator, as the demo sees it (``url`` and ``options`` open its channel)."""

    url: str
    options: dict[str, Any]
    #: what the channel's side may ask of the simulator by name (``call``): from a watch on
    #: the channel, or from a worker process that collects through it (``demo.workers``)
    VERBS: ClassVar[frozenset[str]] = frozenset({"inject", "after", "truth"})

    def attach(self, channel: Channel) -> None:
        """The channel opened on ``url`` here: watched for the simulator's truth."""
        self.watch(channel, self.call)

    @staticmethod
    def watch(channel: Channel, call: Callable[..., object]) -> None:
        """Watch ``channel`` for the simulator, telling it through ``call(verb, *args)``: the
        simulator itself here, the pipe to it in a worker process. Most need nothing."""
        del channel, call

    def call(self, verb: str, *args: Any) -> Any:
        """One of ``VERBS`` by name; any other is refused (a worker names what it wants)."""
        if verb not in self.VERBS:
            raise ValueError(f"{type(self).__name__} has no verb {verb!r} for a channel's side")
        return getattr(self, verb)(*args)

    @abstractmethod
    def inject(self, fault: str) -> None:
        """Arm a fault for the next payment on this channel."""

    def after(self, fault: str, payment: str | None) -> Observed | None:
        """The faulted payment (``payment``, if one was made) is done: come back to normal,
        and say what was seen of the fault."""
        del fault, payment
        return None

    @abstractmethod
    def settle(self, collector: Collector, name: str) -> str:
        """Record the channel's settlement figures; what was done, for the summary."""

    @abstractmethod
    def truth(self) -> dict[str, int]:
        """How often the simulator took (and kept) money, per payment id."""

    def audit(self) -> list[str]:
        """What the simulator saw that must never happen; empty when all was well."""
        return []

    @abstractmethod
    def close(self) -> None:
        """Stop the simulator."""


class TerminalSim(Running):
    """A ZVT terminal simulator on TCP or on a pseudo-terminal (a serial line)."""

    faults = tuple(_TERMINAL_FAULTS)
    scripts: Mapping[str, TerminalScript] = _TERMINAL_FAULTS
    VERBS = Running.VERBS | {"tag"}

    def __init__(self, stage: Stage, *, transport: str) -> None:
        self.sim = TerminalSimulator(password=int(PASSWORD), t2=0.3)
        if transport == "tcp":
            host, port = self.sim.serve_tcp("127.0.0.1", 0)
            self.url = f"zvt+tcp://{host}:{port}?{_TIMERS}"
        else:
            path = self.sim.serve_pty()
            self.url = f"zvt+serial://{path}?baudrate=9600&stopbits=2&{_TIMERS}"
        self.options: dict[str, Any] = {"password": PASSWORD}

    @staticmethod
    def watch(channel: Channel, call: Callable[..., object]) -> None:
        """Each payment's command names its record: the terminal tags what it books next."""
        assert isinstance(channel, TerminalChannel)

        def label(event: TerminalEvent) -> None:
            if event.kind == "command" and event.record_id:
                call("tag", event.record_id)

        channel.watch(label)

    def tag(self, record_id: str) -> None:
        """What the terminal books next is ``record_id``'s (the truth check's key)."""
        self.sim.terminal.tag_next(record_id)

    def inject(self, fault: str) -> None:
        self.sim.terminal.scripts.push(self.scripts[fault])

    def after(self, fault: str, payment: str | None) -> Observed | None:
        deadline = time.monotonic() + 5.0  # a power cut: wait for the terminal to be back
        while not self.sim.terminal.powered and time.monotonic() < deadline:
            time.sleep(0.05)
        self.sim.terminal.scripts.clear()  # a fault the payment never reached is dropped
        return None

    def sell_directly(self, minor: int) -> int:
        """A sale keyed on the terminal itself, the backend never asked (``--tamper``):
        money the journal cannot know of. Its receipt number."""
        t = self.sim.terminal
        txn = t.journal.book(
            kind="payment",
            amount=minor,
            currency=t.currency.numeric,
            result_code=0,
            card="6222020000000000000",
            at=t.clock().isoformat(timespec="seconds"),
            tag=None,
        )
        return txn.receipt

    def settle(self, collector: Collector, name: str) -> str:
        ch = collector.channel(name)
        assert isinstance(ch, TerminalChannel)
        totals = ch.end_of_day(collector.channel_context(name))
        count = "255 or more" if totals.count is not None and totals.count >= 255 else totals.count
        text = f"end of day: {count} payment(s), total {totals.total}"
        if totals.refunds is not None:
            text += f", {totals.refund_count} refund(s) {totals.refund_total}, net {totals.net}"
        return text

    def truth(self) -> dict[str, int]:
        taken: dict[str, int] = {}
        for t in self.sim.terminal.journal.txns:
            if t.kind == "payment" and t.approved and not t.reversed:
                # untagged: booked for another process (the crash child) — by receipt number
                key = t.tag or f"receipt:{t.receipt}"
                taken[key] = taken.get(key, 0) + 1
        return taken

    def close(self) -> None:
        self.sim.close()


class ProviderSim(Running):
    """WeChat Pay or Alipay, simulated: payers pay at once, callbacks come back with
    duplicates and forgeries mixed in, as in production."""

    faults = (*_PROVIDER_FAULTS, "duplicate callbacks", "forged callback")

    def __init__(self, stage: Stage, *, provider: str, name: str) -> None:
        self.provider = provider
        self.stage = stage
        self.sim = ProviderSimulator(
            stage.keys,
            script=Script(default_payer="pay_now", slow_seconds=1.5),
            time_scale=600.0,
            faults=NotifyFaults(duplicate=0.05, forged=0.01, probe=0.005, stale=0.005),
            notify_timeout=10.0,
            seed=stage.seed,
        ).start()
        k = stage.keys
        common = {"notify_url": stage.receiver.url(name), "backoff": 0.01}
        if provider == "wechatpay":
            self.url = (
                f"wechatpay+{self.sim.url}?mchid={k.mchid}&appid={k.appid}&trade_type=native"
                "&timeout=1"
            )
            self.options: dict[str, Any] = {**common, **k.wechat_options()}
        else:
            self.url = (
                f"alipay+{self.sim.alipay_gateway}?app_id={k.alipay_app_id}&product=precreate"
                "&timeout=1"
            )
            self.options = {**common, "seller_id": k.alipay_seller_id, **k.alipay_options()}

    def inject(self, fault: str) -> None:
        if fault in ("duplicate callbacks", "forged callback"):
            return  # the notifier sends duplicates and forgeries all day long
        call, payer = _PROVIDER_FAULTS[fault]
        if call is not None:
            self.sim.script.fault(call)
        if payer is not None:  # only for an order that gets created; else the default
            self.sim.script.payer(payer)

    def after(self, fault: str, payment: str | None) -> Observed | None:
        """A forged callback, or two more copies of the genuine one, for the payment."""
        self.sim.script.clear()
        if fault not in ("forged callback", "duplicate callbacks"):
            return None
        try:
            if payment is None:
                raise Conflict("NO_PAYMENT", "no payment was made")
            if fault == "forged callback":
                forged = self.sim.deliver(self.provider, payment, variant="forged")
                if forged.accepted:
                    return Observed(f"a forged callback was accepted ({forged.status})", True)
                return Observed(f"a forged callback was refused (HTTP {forged.status})")
            copies = [self.sim.deliver(self.provider, payment) for _ in range(2)]
        except Conflict as exc:
            return Observed(f"the fault could not be exercised: {exc}", True)
        answers = ", ".join(str(c.status) for c in copies)
        return Observed(f"2 more copies of the callback delivered (HTTP {answers})")

    def settle(self, collector: Collector, name: str) -> str:
        ch = collector.channel(name)
        assert isinstance(ch, MobilePayChannel)
        ctx = collector.channel_context(name)
        days = self.stage.days_so_far()
        bills = [ch.download_bill(ctx, day) for day in days]
        lines = sum(len(b.lines) for b in bills)
        sent = Counter(
            (a.variant, a.accepted) for a in self.sim.notifier.attempts() if a.status is not None
        )
        calls = ", ".join(
            f"{kind} {sent[kind, True] + sent[kind, False]} ({sent[kind, False]} refused)"
            for kind in ("genuine", "forged", "probe", "stale")
            if sent[kind, True] + sent[kind, False]
        )
        return f"{len(bills)} bill(s) downloaded, {lines} line(s); callbacks: {calls}"

    def truth(self) -> dict[str, int]:
        return {o.number: o.charges for o in self.sim.book.orders() if o.charges}

    def audit(self) -> list[str]:
        """Forged or probing callbacks (sent at random all day) that were accepted, and for
        WeChat Pay stale ones (its signature covers a timestamp; Alipay's notifications
        carry none, so the simulator's "stale" Alipay copy is a genuine duplicate)."""
        refuse = {"forged", "probe"} | ({"stale"} if self.provider == "wechatpay" else set())
        seen = Counter(
            a.variant for a in self.sim.notifier.attempts() if a.accepted and a.variant in refuse
        )
        return [f"{self.provider}: {n} {kind} callback(s) accepted" for kind, n in seen.items()]

    def close(self) -> None:
        self.sim.stop()


CREDITOR = Creditor(
    name="科尔沁右翼前旗社会保险事业管理局",
    account="15050171001234567890",
    bank="105191000011",
    msg_prefix="KYQ",
)


@dataclass
class PayerMix(Mix):
    """The bank's answer to a debit decided by whose it is: an answer armed for the payer,
    else the payer's throw for their n-th debit of the day (the seed, the payer, n). The
    plain mix hashes the end-to-end id, which holds the payment id — new in every run."""

    payers: dict[str, str] = field(default_factory=dict)  # payment id -> payer
    armed: dict[str, str] = field(default_factory=dict)  # payer -> outcome of the next debit
    #: whose payment an unexpected id is (a resubmission is a new payment): the journal's
    lookup: Callable[[str], str | None] = lambda _: None
    debits: Counter[str] = field(default_factory=Counter)  # payer -> debits answered

    def choose(self, ref: str) -> str:
        ours = payment_of(ref)
        if ours is None:
            return super().choose(ref)
        payer = self.payers.get(ours[0]) or self.lookup(ours[0])
        if payer is None:
            return super().choose(ref)
        self.debits[payer] += 1
        if payer in self.armed:
            return self.armed.pop(payer)
        weights = [(name, self.weights.get(name, 0.0)) for name in OUTCOMES]
        return Dice(self.seed).pick(weights, "ok", "bank", payer, str(self.debits[payer]))


class BankSim(Running):
    """The county's bank: pain.008 in, pain.002 refusals and camt.054 bookings out."""

    faults = (*_BANK_FAULTS, "duplicate result file")
    #: faults that script the answer for one debit (the rest concern no payment)
    debit_faults = tuple(_BANK_FAULTS)

    def __init__(self, stage: Stage) -> None:
        root = stage.folder / "bank"
        self.exchange = root / "exchange"
        self.url = f"bankfile+dir://{self.exchange}?format=pain.008.001.08"
        self.options: dict[str, Any] = {"creditor": CREDITOR}
        self.mix = PayerMix(
            {"insufficient_funds": 0.04, "closed": 0.005, "partial": 0.005, "late_return": 0.003},
            seed=str(stage.seed),
        )
        self.sim = BankSimulator(
            self.exchange / "outbox",
            self.exchange / "inbox",
            state=root / "sim",
            mix=self.mix,
            reply="camt.054",
        )
        self.duplicate_armed = False
        self.duplicate: str | None = None  # the copy's file name, once delivered

    def inject(self, fault: str) -> None:
        """Only ``duplicate result file``: a debit's fault is armed for its payer (``arm``)."""
        if fault != "duplicate result file":
            raise ValueError(f"{fault!r} is a debit's answer: arm it for a payer")
        self.duplicate_armed = True

    def arm(self, payer: str, fault: str) -> None:
        """The bank answers the payer's next debit as ``fault`` says."""
        self.mix.armed[payer] = _BANK_FAULTS[fault]

    def expect(self, payment: str, payer: str) -> None:
        """Whose debit a payment is (the bank knows its customers by their accounts)."""
        self.mix.payers[payment] = payer

    def answer(self, collector: Collector, name: str) -> int:
        """Send request files, let the bank answer, read its answers; files answered."""
        self.mix.lookup = lambda payment: collector.status(payment).payer_id
        collector.poll(name)
        written = self.sim.process_once()
        if written and self.duplicate_armed:  # the same result file delivered twice
            self.duplicate_armed = False
            self.duplicate = f"copy-{written[0].name}"
            shutil.copy(written[0], self.exchange / "inbox" / self.duplicate)
        collector.poll(name)
        collector.poll(name)
        return len(written)

    def after(self, fault: str, payment: str | None) -> Observed | None:
        """Whether the copy of a result file was recognised and set aside."""
        if fault != "duplicate result file":
            return None
        if self.duplicate is None:
            return Observed("no result file came back to copy", wrong=True)
        if (self.exchange / "processed" / "duplicates" / self.duplicate).exists():
            return Observed("the copy was recognised as applied before and set aside")
        return Observed(f"{self.duplicate} was not set aside as a duplicate", wrong=True)

    def settle(self, collector: Collector, name: str) -> str:
        self.answer(collector, name)
        return "result files applied as they came (each recorded with the bank's figures)"

    def truth(self) -> dict[str, int]:
        taken: dict[str, int] = {}
        rows = self.sim.db.execute(
            "SELECT ref FROM debits WHERE taken > 0 AND returned IS NULL"
        ).fetchall()
        for (ref,) in rows:  # end-to-end id: payment id without "pay_", "-", attempt
            pid = "pay_" + str(ref).rpartition("-")[0]
            taken[pid] = taken.get(pid, 0) + 1
        return taken

    def close(self) -> None:
        self.sim.close()
