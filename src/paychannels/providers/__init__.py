"""Provider codecs for mobile-app payments: what goes on the wire, apart from the flow.

Each provider (``wechatpay``, ``alipay``) builds signed requests, reads and verifies
responses and callbacks, and maps its states and codes to our ``Outcome``s and ``Reason``s.
The flow (when to query, when to close, what a missing order means) lives in
``paychannels.channels.mobile``; HTTP itself in ``paychannels.links.http``.
"""
