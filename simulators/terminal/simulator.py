"""``TerminalSimulator``: one simulated terminal served on TCP, a pty, its cloud and a control API.

What ``paychannels-sim terminal`` runs, and what tests start in-process::

    sim = TerminalSimulator(currency="CNY")
    host, port = sim.serve_tcp("127.0.0.1", 0)
    path = sim.serve_pty()
    base = sim.serve_nexo(notify_url="http://127.0.0.1:8080/notify", notify_secret="...")
    sim.terminal.scripts.push(Script(outcome="decline", result_code=0x05))
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from paychannels.drivers.mispos.profile import Profile
from paychannels.links.base import Link
from paychannels.simulators.provider.server import SimServer
from paychannels.simulators.terminal.cloud import SimCloud
from paychannels.simulators.terminal.control import ControlServer
from paychannels.simulators.terminal.core import SimTerminal
from paychannels.simulators.terminal.journal import SimJournal
from paychannels.simulators.terminal.mispos_front import MisposSession
from paychannels.simulators.terminal.servers import PtyServer, TcpServer

__all__ = ["TerminalSimulator"]


class TerminalSimulator:
    """A simulated terminal and the places it listens."""

    def __init__(
        self,
        *,
        journal: str | Path | None = None,
        charset: str = "cp437",
        ack_timeout: float = 5.0,
        t2: float = 5.0,
        full_pan: bool = False,
        **terminal: Any,
    ) -> None:
        self.terminal = SimTerminal(journal=SimJournal.open(journal), **terminal)
        self.session: dict[str, Any] = {
            "charset": charset,
            "ack_timeout": ack_timeout,
            "t2": t2,
            "full_pan": full_pan,
        }
        self.tcp: TcpServer | None = None
        self.pty: PtyServer | None = None
        self.control: ControlServer | None = None
        self.cloud: SimCloud | None = None
        self.nexo: SimServer | None = None
        self.mispos: list[PtyServer | TcpServer] = []

    def serve_tcp(self, host: str = "127.0.0.1", port: int = 20007) -> tuple[str, int]:
        """Listen for ECRs on TCP; returns the address."""
        self.tcp = TcpServer(self.terminal, host, port, **self.session)
        return self.tcp.start()

    def serve_pty(self, *, baudrate: int = 9600, stopbits: int = 2) -> str:
        """Speak serial ZVT on a new pty (at these line settings); returns the slave path."""
        self.pty = PtyServer(self.terminal, baudrate=baudrate, stopbits=stopbits, **self.session)
        return self.pty.start()

    def serve_mispos(
        self, profile: Profile, *, tcp: tuple[str, int] | None = None, full_pan: bool = True
    ) -> str:
        """Speak a MIS-POS profile on a new pty (at the profile's line settings) and return
        its slave path, or on TCP (``tcp=(host, port)``) and return ``host:port``. Each call
        opens another one; all of them drive the same terminal."""

        def serve(link: Link, stop: threading.Event, line_ok: Callable[[], bool]) -> None:
            MisposSession(
                self.terminal, link, profile, stop=stop, line_ok=line_ok, full_pan=full_pan
            ).serve()

        if tcp is not None:
            server = TcpServer(self.terminal, *tcp, serve=serve)
            self.mispos.append(server)
            host, port = server.start()
            return f"{host}:{port}"
        line = profile.line
        stopbits = 2 if line.stopbits == "2" else 1
        pty = PtyServer(self.terminal, baudrate=line.baudrate, stopbits=stopbits, serve=serve)
        self.mispos.append(pty)
        return pty.start()

    def serve_nexo(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        poiid: str = "P400Plus-275039202",
        api_key: str | None = None,
        notify_url: str | None = None,
        notify_secret: str | None = None,
        cloud_timeout: float = 150.0,
        time_scale: float = 1.0,
    ) -> str:
        """Serve the terminal's cloud (nexo over HTTP); returns its base URL."""
        self.cloud = SimCloud(
            self.terminal,
            poiid=poiid,
            api_key=api_key,
            notify_url=notify_url,
            notify_secret=notify_secret,
            cloud_timeout=cloud_timeout,
            time_scale=time_scale,
        )
        self.nexo = SimServer(self.cloud.app, host=host, port=port).start()
        return self.nexo.url

    def serve_control(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start the control API; returns its base URL."""
        self.control = ControlServer(self.terminal, host, port)
        return self.control.start()

    def close(self) -> None:
        for server in (self.tcp, self.pty, self.control, *self.mispos):
            if server is not None:
                server.close()
        if self.nexo is not None:
            self.nexo.stop()
        if self.cloud is not None:
            self.cloud.close()

    def __enter__(self) -> TerminalSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
