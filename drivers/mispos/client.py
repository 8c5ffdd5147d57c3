"""The ECR end of a MIS-POS terminal: sessions on a link, one request and its answer.

A session opens the link (a serial port, or TCP for terminals on the LAN), frames with the
profile's framing (with ACK/NAK and resends, or without when the profile says the terminal
does not acknowledge) and closes it after. ``exchange`` sends one verb's request and waits
the profile's answer time for the answer. What a failure means is decided here, once:
nothing left, or every frame NAKed -> ``NotSentError``; it left and no (readable) answer
came -> ``OutcomeUnknownError`` or ``MisposFormatError`` (ask the terminal before anything
else).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from paychannels.drivers.framing import AckedTransport, PlainTransport, Transport
from paychannels.drivers.mispos.codec import Fields, decode_fields, encode_fields
from paychannels.drivers.mispos.errors import MisposFormatError
from paychannels.drivers.mispos.frame import MisposFraming
from paychannels.drivers.mispos.profile import BOOKING_VERBS, Profile, VerbSpec
from paychannels.links.base import Link
from paychannels.values.errors import LinkError, LinkTimeout, NotSentError, OutcomeUnknownError

__all__ = ["AnswerTimeout", "MisposClient", "Session", "make_transport"]

log = logging.getLogger("paychannels.drivers.mispos")


class AnswerTimeout(OutcomeUnknownError):
    """The request was taken (ACKed) but no answer came within the answer time."""


def make_transport(link: Link, profile: Profile) -> Transport:
    """The transport a profile's framing needs over ``link``."""
    framing = MisposFraming(profile.frame)
    f = profile.frame
    if not f.acknowledge:
        return PlainTransport(link, framing)
    return AckedTransport(
        link,
        framing,
        t1=max(0.2, f.ack_timeout / 2),
        t2=f.ack_timeout,
        resends=f.resends,
        ack=f.ack,
        nak=f.nak,
    )


class MisposClient:
    """One MIS-POS terminal behind a link, spoken to as its profile says."""

    def __init__(
        self,
        link: Link,
        profile: Profile,
        *,
        answer_timeout: float | None = None,
    ) -> None:
        self.link = link
        self.profile = profile
        self.answer_timeout = answer_timeout or profile.answer_timeout
        self.last_transport: Transport | None = None

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Open the link, yield a session, close the link (``LinkConnectError``: cannot open)."""
        transport = make_transport(self.link, self.profile)
        self.last_transport = transport
        transport.open()
        try:
            yield Session(self, transport)
        finally:
            transport.close()


class Session:
    """Requests on an open link."""

    def __init__(self, client: MisposClient, transport: Transport) -> None:
        self.client = client
        self.transport = transport
        self.profile = client.profile

    def exchange(
        self,
        verb: VerbSpec,
        values: Mapping[str, str],
        *,
        earlier: Callable[[Fields], bool] | None = None,
    ) -> Fields:
        """Send ``verb`` with ``values`` (``trans_type`` is added) and read the answer.

        An answer ``earlier`` recognises as an earlier request's (arriving late) is set aside
        and the reading goes on, within the same answer time.
        """
        body = encode_fields(self.profile, verb.request, {**values, "trans_type": verb.code})
        link = self.transport.link
        before = link.written
        try:
            self.transport.discard_stale()  # a booking is not resent on silence (see framing)
            acknowledged = self.transport.send(
                body,
                books=verb.name in BOOKING_VERBS,
                repeat_safe=bool(self.profile.frame.resend_key),  # the terminal knows repeats
            )
        except (NotSentError, OutcomeUnknownError):
            raise
        except LinkError as exc:
            if link.written == before:
                raise NotSentError(f"the {verb.name} request could not be sent ({exc})") from None
            raise OutcomeUnknownError(
                f"the link failed while sending {verb.name} ({exc})"
            ) from None
        deadline = time.monotonic() + self.client.answer_timeout
        while True:
            fields = self._answer(verb, deadline, acknowledged)
            if earlier is None or not earlier(fields):
                return fields
            log.info(
                "%s: an earlier request's answer arrived during %s: set aside", link.url, verb.name
            )

    def _answer(self, verb: VerbSpec, deadline: float, acknowledged: bool) -> Fields:
        link = self.transport.link
        try:
            raw = self.transport.receive(deadline)
        except LinkTimeout:
            unacked = "" if acknowledged else " (nor an ACK: it may have arrived; not resent)"
            raise AnswerTimeout(
                f"{link.url}: no answer to {verb.name} within {self.client.answer_timeout:g} s"
                f"{unacked}"
            ) from None
        except LinkError as exc:
            raise OutcomeUnknownError(f"the link failed during {verb.name} ({exc})") from None
        fields = decode_fields(self.profile, verb.response, raw)
        said = fields.get("trans_type")
        if verb.name != "query" and said is not None and said != verb.code:
            raise MisposFormatError(f"answer of type {said!r} to a {verb.name} ({verb.code})")
        return fields

    def query_last(self) -> Fields:
        """The terminal's last transaction (its "query last transaction" verb)."""
        verb = self.profile.verbs["query"]
        return self.exchange(verb, {})
