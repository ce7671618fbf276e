"""Convex's wire protocol: the HTTP API (``/api/query``, ``/api/mutation``, ``/api/action``) and the
WebSocket sync protocol with reactive query subscriptions (docs/architecture.md, "Reactivity")."""
