"""``paychannels feed`` in a child process the crash kit may kill at a feed's crash point."""

from __future__ import annotations

import sys

from tests.crashkit import install_from_env

if __name__ == "__main__":
    install_from_env()
    from paychannels.cli.main import main

    sys.exit(main(sys.argv[1:]))
