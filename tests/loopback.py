"""What tests that talk over 127.0.0.1 share: a free port, bytes pumped between sockets."""

from __future__ import annotations

import contextlib
import socket


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def pump(src: socket.socket, dst: socket.socket) -> None:
    """``src`` copied to ``dst`` until it ends, then ``dst`` half-closed (errors end it quietly)."""
    with contextlib.suppress(OSError):
        while chunk := src.recv(65536):
            dst.sendall(chunk)
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)
