"""The Collector and its collaborators: the one payment interface backends talk to.

``Collector`` (``facade``) is the front door; behind it a journal writer, the channels it
holds and one class per flow (dispatch, intake, recovery, reversals, bulk results), each
with a public surface of its own. See docs/architecture.md, "Where things live".
"""

from paychannels.collector.facade import Collector
from paychannels.collector.intake import PollResult
from paychannels.collector.recovery import RecoveryReport

__all__ = ["Collector", "PollResult", "RecoveryReport"]
