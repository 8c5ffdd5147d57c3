"""The payer's own check served over HTTP: an ASGI app and its per-client rate limit.

::

    from paychannels.documents.payercheck import PayerCheck, PayerIndex
    from paychannels.lookup import LookupASGI
    app = LookupASGI(PayerCheck(PayerIndex.load(key, "lookup.idx"), journal))

docs/lookup.md says how a township mounts it, the rate limit and the privacy rules.
"""

from __future__ import annotations

from paychannels.lookup.asgi import DEFAULT_MAX_BODY, LookupASGI, from_env
from paychannels.lookup.ratelimit import ClientLimiter

__all__ = ["DEFAULT_MAX_BODY", "ClientLimiter", "LookupASGI", "from_env"]
