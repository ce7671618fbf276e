"""Serving an ASGI app on a free loopback port for a test, in a thread (fake providers, stand-ins)."""

from __future__ import annotations

from infra.local.serving import free_port, serve

__all__ = ["free_port", "serve"]
