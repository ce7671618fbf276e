"""What a client may send over the socket, and what one connection and one session may cost.

A subscription costs its query's runs (twice when it is added: once more after its watches exist, so a
write in between is not missed) and, per key it read, a watch item and the key's marker. Unbounded,
one ``ModifyQuerySet`` could add hundreds of subscriptions that each write thousands of items. So:

- **per subscription**: it watches at most :data:`MAX_WATCH_KEYS` keys (the documents it read by key,
  and one per index partition it read a stretch of); a query that reads more fails with
  ``LIMIT_EXCEEDED`` and keeps no watches;
- **per connection**: at most :data:`MAX_QUERIES` subscriptions, watching :data:`MAX_CONNECTION_KEYS`
  keys together, whose ``Add`` modifications take at most :data:`MAX_QUERY_SET_BYTES` (a client sends
  its whole query set again in one message when it reconnects, and that message must fit in one
  WebSocket frame: :data:`FRAME_BYTES`). A subscription past one of them is refused: ``QueryFailed``
  with ``LIMIT_EXCEEDED`` (``PAYLOAD_TOO_LARGE`` for the bytes), the connection goes on;
- **per session** (an anonymous connection counts as its own session), per minute: at most
  :data:`SESSION_ADDS` subscriptions run and :data:`SESSION_ITEMS` watch items written for them,
  across its connections; past that, new subscriptions fail with ``RATE_LIMITED`` (``retryAfter`` in
  seconds) until the minute is over. Reconnecting does not start afresh.

One item of a connection's queue runs at most :data:`ITEM_RUNS` queries for new subscriptions: the
rest of a message's (a client re-adds its whole query set in one after reconnecting) wait in the
query set and run in the items queued behind it, their results in the Transitions that follow. Once
a new subscription is refused for want of the connection's room, the item refuses the other new
subscriptions to the same function without running them. One ``ModifyQuerySet`` writes at most
:data:`MESSAGE_ITEMS` items (more only when a query's reads change between its two runs). Convex's
clients show a refused subscription as its query's error (``ConvexError`` with ``.data.code``), as
they do any failed query.
"""

from __future__ import annotations

__all__ = [
    "FRAME_BYTES",
    "ITEM_RUNS",
    "MAX_CONNECTION_KEYS",
    "MAX_QUERIES",
    "MAX_QUERY_SET_BYTES",
    "MAX_WATCH_KEYS",
    "MESSAGE_ITEMS",
    "SESSION_ADDS",
    "SESSION_ITEMS",
    "SESSION_WINDOW_SECONDS",
]

#: API Gateway closes a WebSocket whose client sends a frame over 32 KB (close code 1009). Browsers
#: (and Convex's clients, JS and Rust) send each message as one frame: no client message is larger.
FRAME_BYTES = 32 * 1024
#: Subscriptions one connection holds.
MAX_QUERIES = 128
#: The ``Add`` modifications of a connection's whole query set, JSON-encoded as a client sends them
#: again after reconnecting, in one ``ModifyQuerySet`` that must fit in a frame (with room for the
#: message around them).
MAX_QUERY_SET_BYTES = FRAME_BYTES - 1024
#: Keys one subscription watches (a search or a page of 100 documents read by key takes ~100).
MAX_WATCH_KEYS = 512
#: Keys one connection's subscriptions watch together.
MAX_CONNECTION_KEYS = 1024
#: Query runs one item of a connection's queue makes before it leaves the new subscriptions still to
#: run (two runs each) to the items behind it.
ITEM_RUNS = 32
#: The window of the per-session budget.
SESSION_WINDOW_SECONDS = 60
#: Subscriptions a session's connections may run (add) per window.
SESSION_ADDS = 512
#: Watch items a session's connections may write for new subscriptions per window.
SESSION_ITEMS = 16 * 1024
#: The most items one ``ModifyQuerySet`` writes: the connection, the session's budget, a subscription
#: item per run of an added query, and a watch item and a marker per key watched.
MESSAGE_ITEMS = 2 + 2 * MAX_QUERIES + 2 * MAX_CONNECTION_KEYS
