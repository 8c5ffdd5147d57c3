"""A simulated payment terminal: one transport-neutral core, served as ZVT over TCP and a pty.

``core`` (the terminal: cardholder, bank, its own journal), ``script`` (outcomes, faults,
rules), ``zvt_front`` (the terminal end of ZVT, faults included), ``servers`` (TCP and pty),
``control`` (local HTTP to steer it and read its truth), ``simulator`` (all of it together).
"""

from __future__ import annotations

from paychannels.simulators.terminal.core import Booking, Front, Interrupted, SimTerminal
from paychannels.simulators.terminal.journal import SimJournal, SimTxn
from paychannels.simulators.terminal.script import FAULTS, OUTCOMES, Rule, Script, ScriptBook
from paychannels.simulators.terminal.simulator import TerminalSimulator

__all__ = [
    "FAULTS",
    "OUTCOMES",
    "Booking",
    "Front",
    "Interrupted",
    "Rule",
    "Script",
    "ScriptBook",
    "SimJournal",
    "SimTerminal",
    "SimTxn",
    "TerminalSimulator",
]
