"""A bank on files: reads request files, answers with result files (``paychannels-sim bank``).

It reads every request format the library writes (pain.008.001.02/.08 and the text layouts),
checks them as a bank would (XSD, control sums, a message id it has seen before) and answers
in the matching format with a configurable mix of outcomes — insufficient funds, closed
account, no agreement, partial debits, late returns, debits left unreported — after a delay.
Its own ledger (SQLite, in its state folder) says what it took from whom.
"""

from __future__ import annotations

from paychannels.simulators.bank.bank import BankSimulator
from paychannels.simulators.bank.outcomes import OUTCOMES, Mix

__all__ = ["OUTCOMES", "BankSimulator", "Mix"]
