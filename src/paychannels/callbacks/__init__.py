"""Provider callbacks, framework-neutral: ``handle()``, an ASGI app and a WSGI app.

::

    from paychannels.callbacks import CallbackASGI, CallbackWSGI, handle
    app = CallbackASGI(collector)            # POST /callbacks/<channel name>
    reply = handle(collector, "wx", request.headers, request.body)   # any framework
"""

from __future__ import annotations

from paychannels.callbacks.asgi import CallbackASGI
from paychannels.callbacks.handler import DEFAULT_MAX_BODY, CallbackHandler, handle
from paychannels.callbacks.wsgi import CallbackWSGI

__all__ = ["DEFAULT_MAX_BODY", "CallbackASGI", "CallbackHandler", "CallbackWSGI", "handle"]
