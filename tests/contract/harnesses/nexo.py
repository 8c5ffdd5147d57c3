"""Contract harnesses for ``CloudPosChannel``: the terminal simulator's cloud over real HTTP.

``nexo+http`` sync (the answer comes on the call) and async (``ok`` at once, the result by a
signed event notification to a WSGI receiver applying it to the test's Collector). Ground
truth per payment is the simulator's own journal: the cloud files each transaction under
the payment's id (``SaleTransactionID``), and each refund under the payment it refunds.
"""

from __future__ import annotations

from typing import ClassVar

from paychannels import Channel, Collector, Money, Record, Status, open_channel
from paychannels.drivers.nexo import CloudPosChannel
from paychannels.simulators.terminal import Script, TerminalSimulator
from tests.contract.harnesses import Harness
from tests.contract.harnesses.mobile import Receiver

API_KEY = "AQEyhmfxK4-test-api-key-0123456789"
SECRET = "whsec-nexo-contract-0123456789abcdef"
POIID = "P400Plus-275039202"
CARD = "6222021234567890123"

_SCRIPTS = {
    "approve": Script(),
    "decline": Script(outcome="decline", result_code=0x05),
    "insufficient_funds": Script(outcome="insufficient_funds"),
    "pending": Script(card_delay=30.0),
    "refuse": Script(faults=frozenset({"refuse"})),
    "lose_request": Script(faults=frozenset({"lose_request"})),
    "lose_reply": Script(faults=frozenset({"disconnect_after_approval"})),
    "garble_reply": Script(faults=frozenset({"garble_reply"})),
}


class NexoHarness(Harness):
    """The simulated terminal behind its simulated cloud; subclasses pick the mode."""

    mode: ClassVar[str]

    def open(self) -> Channel:
        self.sim = TerminalSimulator(card=CARD)
        self.receiver = Receiver()
        base = self.sim.serve_nexo(
            poiid=POIID,
            api_key=API_KEY,
            notify_url=self.receiver.url,
            notify_secret=SECRET,
            cloud_timeout=5.0,
            time_scale=20.0,
        )
        url = f"nexo+{base}/?poi={POIID}&mode={self.mode}&status_wait=0&timeout=5&abort_wait=5"
        channel = open_channel(url, api_key=API_KEY, notify_secret=SECRET, backoff=0.01)
        assert isinstance(channel, CloudPosChannel)
        self.channel = channel
        return channel

    def script(self, behaviour: str) -> None:
        self.sim.terminal.scripts.push(_SCRIPTS[behaviour])

    def charges(self, record: Record) -> int:
        return self.sim.terminal.journal.charges(tag=record.id)

    def refunded(self, record: Record) -> Money:
        journal = self.sim.terminal.journal
        paid = [t for t in journal.txns if t.tag == record.id and t.kind == "payment"]
        minor = sum(journal.refunded(t.receipt, t.batch) for t in paid if t.approved)
        return Money.of_minor(minor, record.amount.currency)

    def finish_pending(self, collector: Collector, record: Record, *, paid: bool) -> None:
        """The terminal finishes on its own (zero cardholder delay); the notification lands.

        The receiver reaches the Collector only meanwhile: a notification arriving after the
        test closed its journal must find no one (it is answered 503 and retried).
        """
        self.receiver.bind(collector, record.channel)
        try:
            assert self.sim.cloud is not None
            assert self.sim.cloud.notifier.wait_idle(10), "the notification was not acknowledged"
        finally:
            self.receiver.app = None
        if collector.status(record.id).status is Status.PENDING:
            collector.recover()  # no notification: ask (the async channel's polling)

    def transcript(self) -> str:
        return self.channel.transcript()

    def secrets(self) -> list[str]:
        return [API_KEY, SECRET, CARD]

    def close(self) -> None:
        self.channel.close()
        self.sim.close()
        self.receiver.close()


class NexoSyncHarness(NexoHarness):
    """Answers on the call; a payment waiting for the card cannot be scripted here."""

    name = "nexo+http sync"
    mode = "sync"
    supports = frozenset(_SCRIPTS) - {"pending"}


class NexoAsyncHarness(NexoHarness):
    """``ok`` at once, the result by notification (or by asking)."""

    name = "nexo+http async"
    mode = "async"
    supports = frozenset(_SCRIPTS)


HARNESSES: dict[str, type[Harness]] = {
    "nexo+http-sync": NexoSyncHarness,
    "nexo+http-async": NexoAsyncHarness,
}
