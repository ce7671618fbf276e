"""AI through OpenAI's official SDK: chat completions and embeddings.

Locally, ``ONE_OPENAI_BASE_URL`` points the same SDK at the local stack's OpenAI-compatible endpoint,
which answers deterministically and says it is local.

Example::

    reply = get_ai().chat(system_prompt="You are Ada's clone.", messages=[{"role": "user", "content": "Hi"}])
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Protocol

from ontology.errors import UpstreamError

__all__ = ["AI", "ChatReply", "OpenAIProvider", "get_ai", "set_ai"]

CHAT_MODEL = "gpt-4-turbo-preview"
EMBEDDING_MODEL = "text-embedding-ada-002"
EMBEDDING_MODEL_SIZED = "text-embedding-3-small"


@dataclass(frozen=True)
class ChatReply:
    content: str
    usage: dict[str, int] = field(default_factory=dict)
    model: str = ""


class AI(Protocol):
    def chat(
        self, *, system_prompt: str, messages: list[dict[str, str]], temperature: float = 0.7
    ) -> ChatReply: ...
    def embed(self, text: str) -> list[float]: ...
    def embed_many(self, texts: list[str]) -> list[list[float]]: ...


class OpenAIProvider:
    """The OpenAI implementation; ``client`` may be injected (an ``openai.OpenAI``)."""

    def __init__(self, client: Any = None) -> None:
        if client is None:
            import openai

            client = openai.OpenAI(
                api_key=_api_key(),
                base_url=os.environ.get("ONE_OPENAI_BASE_URL") or None,
                max_retries=2,
                timeout=60,
            )
        self._client = client

    def chat(
        self, *, system_prompt: str, messages: list[dict[str, str]], temperature: float = 0.7
    ) -> ChatReply:
        import openai

        try:
            resp = self._client.chat.completions.create(
                model=CHAT_MODEL,
                messages=[{"role": "system", "content": system_prompt}, *messages],
                temperature=temperature,
            )
        except openai.OpenAIError as exc:
            raise UpstreamError(f"OpenAI: {type(exc).__name__}") from None
        usage = resp.usage.model_dump() if resp.usage else {}
        return ChatReply(content=resp.choices[0].message.content or "", usage=usage, model=resp.model)

    def embed(self, text: str) -> list[float]:
        return self.embed_many([text])[0]

    def embed_many(self, texts: list[str]) -> list[list[float]]:
        """One embedding per text, in one request, of the platform's dimensions (``ONE_EMBEDDING_DIMENSIONS``:
        the reference's ada-002 for its 1536, text-embedding-3-small, which takes a size, otherwise)."""
        import openai

        from ontology.settings import get_settings

        dimensions = get_settings().embedding_dimensions
        extra: dict[str, Any] = {} if dimensions == 1536 else {"dimensions": dimensions}
        model = EMBEDDING_MODEL if dimensions == 1536 else EMBEDDING_MODEL_SIZED
        try:
            resp = self._client.embeddings.create(model=model, input=texts, **extra)
        except openai.OpenAIError as exc:
            raise UpstreamError(f"OpenAI: {type(exc).__name__}") from None
        vectors = [list(d.embedding) for d in sorted(resp.data, key=lambda d: d.index)]
        if len(vectors) != len(texts) or any(len(v) != dimensions for v in vectors):
            raise UpstreamError("OpenAI: the embeddings are not of the expected size")
        return vectors


def _api_key() -> str:
    from ontology.secrets import get_secret

    return get_secret("openaiApiKey") or ""


_instance: AI | None = None


def get_ai() -> AI:
    global _instance  # noqa: PLW0603
    if _instance is None:
        _instance = OpenAIProvider()
    return _instance


def set_ai(ai: AI | None) -> None:
    global _instance  # noqa: PLW0603
    _instance = ai
