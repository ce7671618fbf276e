"""Provider ports: an interface per outside service, a real implementation on the official SDK (or
plain HTTP), injectable clients, and local stand-ins for the local stack. Heavy SDKs (stripe,
openai) are imported only inside the provider that needs them.

- :mod:`ontology.providers.payments` — Stripe (``stripe`` SDK; locally ``localstripe``)
- :mod:`ontology.providers.ai` — OpenAI chat and embeddings (``openai`` SDK; locally a deterministic
  OpenAI-compatible endpoint)
- :mod:`ontology.providers.email` — Resend's HTTP API (locally a file outbox)
"""
