"""Generic signed-webhook verifiers for providers without a codec of their own.

``TimestampedHmac`` (Stripe style ``t=...,v1=...``, several secrets during rotation, window
both ways) and ``ItemHmac`` (Adyen style per-item HMAC). Both compare in constant time and
raise only ``paychannels.security.verification.CallbackRejected`` subclasses. The cloud-POS event
notifications use them as well.
"""

from __future__ import annotations

from paychannels.security.webhooks.itemhmac import ItemHmac, signing_string
from paychannels.security.webhooks.timestamped import TimestampedHmac

__all__ = ["ItemHmac", "TimestampedHmac", "signing_string"]
