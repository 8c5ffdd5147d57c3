"""The parts of a booking terminal's channel (ZVT, MIS-POS) that are not its protocol.

A terminal books one transaction at a time and is asked about an in-doubt attempt by its
own sequence numbers (the book, ``paychannels.drivers.book``). The rules around that are
the same for every such protocol, and live here once: ``Terminal`` (where it is, its
currency, the terminal lock, its book, the inquiry by the book), ``send_booking`` (crash
points around the send; a refusal is recorded as not booked), ``Watchers`` (a hall's
screen, a test's ground truth) and the factories' URL pieces (``address``,
``terminal_link``, ``check_options``). How a command is sent and how an attempt is
recognised stay each protocol's own.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Generic, ParamSpec, TypeVar

from paychannels.channels.base import Capabilities, ChannelContext
from paychannels.drivers.book import FORGOTTEN, NEVER_SENT, Attempt, Book, BookState, Result
from paychannels.drivers.terminallock import TerminalLock
from paychannels.links import SerialSettings, SpyLink, TranscriptWriter, link_from_parsed
from paychannels.links.base import Link
from paychannels.links.spy import FilterFactory
from paychannels.values.currencies import Currency
from paychannels.values.errors import LinkError, NotSentError, OutcomeUnknownError, ProtocolError
from paychannels.values.models import Outcome, Record, Refund
from paychannels.values.urls import ParsedURL

__all__ = [
    "CAPABILITIES",
    "LOCK_TIMEOUT",
    "Terminal",
    "Watchers",
    "address",
    "check_options",
    "checking_first",
    "detach_transcript",
    "send_booking",
    "terminal_link",
]

P = ParamSpec("P")
A = TypeVar("A")
R = TypeVar("R")

#: what a booking terminal does: inquire by its book, void, refund (in part too); a payment
#: waits up to ten minutes for the card holder
CAPABILITIES = Capabilities(
    inquire=True, void=True, refund=True, partial_refund=True, dispatch_timeout=600.0
)
#: how long a channel waits for its terminal's lock by default (URL option ``lock_timeout``)
LOCK_TIMEOUT = 30.0


class Terminal:
    """One terminal as its channel sees it: where, which currency, its lock and its book."""

    def __init__(
        self, url: str, *, currency: Currency, prefix: str, lock_timeout: float = LOCK_TIMEOUT
    ) -> None:
        self.url = url
        self.currency = currency
        self.prefix = prefix
        self.lock = TerminalLock(url, timeout=lock_timeout)

    def book(self, ctx: ChannelContext) -> Book:
        """This terminal's book in the journal (``<prefix>.terminal``, ``<prefix>.answer.*``)."""
        return Book(ctx, prefix=self.prefix)

    def hold(self, ctx: ChannelContext | None) -> AbstractContextManager[None]:
        """The terminal lock (see ``TerminalLock.hold``)."""
        return self.lock.hold(ctx)

    def check_currency(self, code: str) -> None:
        """A terminal books in one currency; another amount is refused before anything leaves."""
        if code != self.currency.code:
            raise NotSentError(
                f"{self.url} takes {self.currency.code}; a {code} amount was not sent"
            )

    def inquire(
        self,
        record: Record,
        ctx: ChannelContext,
        *,
        payment_kind: str,
        known: Callable[[Result], Outcome],
        resolve: Callable[[BookState, Book], Outcome],
    ) -> Outcome:
        """What became of ``record``'s attempt, by the book: a result it holds (``known``), or
        a marker still pending, which ``resolve`` decides by asking the terminal and records
        in the state, saved here. No marker: nothing left; too old: unknown."""
        kind = "refund" if isinstance(record, Refund) else payment_kind
        book = self.book(ctx)
        with self.lock.hold(ctx):
            found = book.lookup(kind, record)
            match found.kind:
                case "answer" | "recent":
                    assert found.result is not None
                    return known(found.result)
                case "pending":
                    assert found.state is not None
                    outcome = resolve(found.state, book)
                    book.save(found.state)
                    return outcome
                case "never":
                    return Outcome.not_sent(NEVER_SENT)
                case "forgotten":
                    return Outcome.unknown(FORGOTTEN)


@contextmanager
def checking_first(what: str, *also: type[Exception]) -> Iterator[None]:
    """Asking the terminal before a booking leaves (``what``: what is asked about): if the
    question fails, the booking is not sent (``NotSentError``), and a retry is safe."""
    failed: tuple[type[Exception], ...] = (OutcomeUnknownError, ProtocolError, LinkError, *also)
    try:
        yield
    except failed as exc:
        raise NotSentError(
            f"could not check {what} before sending ({exc}); nothing was sent"
        ) from None


def send_booking(
    ctx: ChannelContext,
    attempt: Attempt,
    run: Callable[[], A],
    *,
    announce: Callable[[], None],
    refused: Callable[[Attempt], None],
    read: Callable[[A], R],
) -> R:
    """Send a booking whose marker is persisted, between the dispatch path's crash points,
    and ``read`` its answer (what it means, folded into the book).

    ``NotSentError`` from the send (refused or NAKed: provably not executed) is handed to
    ``refused`` as the attempt done and not booked, then raised. Once the command has left,
    nothing can prove it did not run: a ``NotSentError`` from ``read`` (a follow-up question
    that could not leave, a book that changed under us) is an ``OutcomeUnknownError``.
    """
    ctx.crashpoint("channel.before_send")
    announce()
    try:
        answer = run()
    except NotSentError as exc:
        refused(replace(attempt, result=Result("not_booked", detail=str(exc))))
        raise
    ctx.crashpoint("channel.after_send")
    try:
        return read(answer)
    except NotSentError as exc:
        raise OutcomeUnknownError(
            f"after the {attempt.kind} left: {exc} (it may have run; the terminal is asked)"
        ) from None


class Watchers(Generic[P]):
    """Callbacks told of what a channel does (a hall's screen, tests' ground truth)."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[P, None]] = []

    def add(self, callback: Callable[P, None]) -> Callable[[], None]:
        """Add ``callback``; returns an unsubscribe."""
        self._callbacks.append(callback)
        return lambda: self._callbacks.remove(callback) if callback in self._callbacks else None

    def tell(self, *args: P.args, **kwargs: P.kwargs) -> None:
        for callback in list(self._callbacks):
            callback(*args, **kwargs)


# -- the factories' pieces --------------------------------------------------------------


def address(parsed: ParsedURL) -> str:
    """The URL without its query: how a channel names its terminal in messages."""
    return parsed.raw.split("?", 1)[0]


def check_options(options: Collection[str], allowed: set[str], what: str) -> None:
    """Keyword options a channel factory does not know are a programming error."""
    unknown = set(options) - allowed
    if unknown:
        raise TypeError(f"{what} channel got unexpected options {sorted(unknown)}")


def terminal_link(
    parsed: ParsedURL,
    *,
    own: set[str],
    transport: str,
    filters: FilterFactory,
    transcript: str | Path | TranscriptWriter | None = None,
    port: int | None = None,
    defaults: SerialSettings | None = None,
) -> Link:
    """The link a terminal URL names, the channel's ``own`` options taken out (the rest are
    the link's); with ``transcript``, every session is recorded there, masked by ``filters``."""
    query = {k: v for k, v in parsed.query.items() if k not in own}
    link = link_from_parsed(
        replace(parsed, query=query, port=parsed.port if port is None else port),
        transport=transport,
        defaults=defaults,
    )
    if transcript is None:
        return link
    writer = (
        transcript
        if isinstance(transcript, TranscriptWriter)
        else TranscriptWriter(transcript, link=link.url, append=True)
    )
    return SpyLink(link, writer, filters=filters)


def detach_transcript(link: Link) -> None:
    """Stop recording a link's transcript (closes the file), if it records one."""
    if isinstance(link, SpyLink):
        link.detach()
