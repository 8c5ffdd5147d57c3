"""A peer that never stops sending: ``python -m tests.adversarial.flood_peer tcp|pty``.

Run as its own process (the flood must not share the reader's interpreter lock, or the
reader would see pauses a real terminal would not leave). Prints where to reach it (``host:
port``, or a pty slave path) and then writes junk, with an ACK byte now and then, as fast as
the reader takes it, until killed. The junk holds no frame end (no ETX, no DLE ETX), so no
frame ever completes; the ACKs make every frame the reader sends look acknowledged, so the
reader goes on to wait for an answer that never comes.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import tty

JUNK = (b"\x06" + bytes(range(0x30, 0x7F))) * 40


def flood(write: object) -> None:
    assert callable(write)
    while True:
        try:
            write(JUNK)
        except OSError:
            return


def main(kind: str) -> None:
    if kind == "pty":
        master, slave = os.openpty()
        tty.setraw(slave)
        print(os.ttyname(slave), flush=True)
        flood(lambda b: os.write(master, b))
        return
    server = socket.create_server(("127.0.0.1", 0))
    print("{}:{}".format(*server.getsockname()[:2]), flush=True)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=flood, args=(conn.sendall,), daemon=True).start()


if __name__ == "__main__":
    main(sys.argv[1])
