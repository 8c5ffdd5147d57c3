"""A terminal that is a transcript: it sends the terminal's half and checks ours, unit by unit.

Our bytes are cut into units and masked by the same filter the spy used when recording,
so they compare byte for byte with the fixture (which never holds a password or a card
number). TCP: every ``* open`` is a new connection and ``* close`` waits for ours to end;
serial: one pty for the whole transcript.
"""

from __future__ import annotations

import os
import socket
import threading
import tty

from paychannels.drivers.zvt.scrubbing import ZvtFilter
from paychannels.links import Entry, Transcript, Unit
from paychannels.links.base import Link, deadline_in
from paychannels.links.tcp import TcpLink
from paychannels.simulators.terminal.servers import FdLink
from paychannels.values.errors import LinkClosed, LinkError, LinkTimeout


class Replayer:
    """Plays the terminal's side of a transcript; ``problems`` lists every mismatch."""

    def __init__(self, transcript: Transcript, framing: str) -> None:
        self.entries = list(transcript.entries)
        self.framing = framing
        self.problems: list[str] = []
        self.done = threading.Event()
        if framing == "tcp":
            self._server = socket.create_server(("127.0.0.1", 0))
            self.address = f"127.0.0.1:{self._server.getsockname()[1]}"
        else:
            self._master, self._slave = os.openpty()
            tty.setraw(self._slave)
            self.address = os.ttyname(self._slave)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Replayer:
        self._thread.start()
        return self

    def _run(self) -> None:
        link: Link | None = None if self.framing == "tcp" else FdLink(self._master, "pty")
        units: list[Unit] = []
        ours = ZvtFilter(self.framing)  # type: ignore[arg-type]
        try:
            for i, entry in enumerate(self.entries):
                if entry.direction == "*":
                    link = self._event(entry, link)
                    continue
                if link is None:
                    raise AssertionError(f"entry {i}: bytes before the link was opened")
                if entry.direction == "<":
                    link.write(entry.data)
                    continue
                while not units:
                    units += ours.feed(link.read(4096, deadline=deadline_in(5)))
                unit = units.pop(0)
                if unit.data != entry.data:
                    self.problems.append(
                        f"entry {i} ({entry.note}): expected {entry.data.hex()}, "
                        f"got {unit.data.hex()} ({unit.note})"
                    )
                    return
        except (LinkError, AssertionError) as exc:
            self.problems.append(f"replay stopped: {exc}")
        finally:
            self.done.set()

    def _event(self, entry: Entry, link: Link | None) -> Link | None:
        if self.framing != "tcp":
            return link
        if entry.text == "open":
            self._server.settimeout(5)
            conn, _ = self._server.accept()
            return TcpLink.from_socket(conn)
        if link is not None and (entry.text == "close" or entry.text.startswith("closed by peer")):
            if entry.text == "close":
                try:
                    link.read(1, deadline=deadline_in(5))
                    self.problems.append(
                        "we sent bytes the transcript does not have before closing"
                    )
                except (LinkClosed, LinkTimeout):
                    pass
            link.close()
            return None
        return link

    def close(self) -> None:
        self.done.wait(10)
        if self.framing == "tcp":
            self._server.close()
        else:
            os.close(self._master)
            os.close(self._slave)
