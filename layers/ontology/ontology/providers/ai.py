"""AI through OpenAI's official SDK: chat completions and embeddings.

Locally, ``ONE_OPENAI_BASE_URL`` points the same SDK at the local stack's OpenAI-compatible endpoint,
which answers deterministically and says it is local.

Example::

    reply = get_ai().chat(system_prompt="You are Ada's clone.", messages=[{"role": "user", "content": "Hi"}])
    outline = get_ai().chat_structured(system_prompt="Plan a course.", messages=[...], schema=Outline)

``chat_structured`` asks for JSON Schema structured output (the pydantic model's strict schema) and
validates the answer with the same model; an answer that does not validate (or a refusal, or one cut
off at the length limit) is asked again, up to ``attempts``, then ``MalformedAnswerError``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ontology.errors import MalformedAnswerError, UpstreamError

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["AI", "ChatReply", "OpenAIProvider", "get_ai", "set_ai"]

M = TypeVar("M", bound="BaseModel")

CHAT_MODEL = "gpt-4-turbo-preview"
#: Structured outputs (a JSON Schema the answer must follow) need a model that supports them.
STRUCTURED_MODEL = "gpt-4o-2024-08-06"
STRUCTURED_ATTEMPTS = 3
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
    def chat_structured(
        self,
        *,
        system_prompt: str,
        messages: list[dict[str, str]],
        schema: type[M],
        temperature: float = 0.7,
        attempts: int = STRUCTURED_ATTEMPTS,
    ) -> M: ...
    def embed(self, text: str) -> list[float]: ...
    def embed_many(self, texts: list[str]) -> list[list[float]]: ...


def _bounded(client: Any) -> Any:
    """The client, its timeout and retries cut to what the invocation has left (all attempts
    together end a second before it does)."""
    from ontology import deadline

    left = deadline.remaining()
    if left is None or not hasattr(client, "with_options"):
        return client
    total = deadline.budget(180.0)
    retries = 2 if total >= 30 else 1 if total >= 10 else 0
    return client.with_options(timeout=total / (retries + 1), max_retries=retries)


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
            resp = _bounded(self._client).chat.completions.create(
                model=CHAT_MODEL,
                messages=[{"role": "system", "content": system_prompt}, *messages],
                temperature=temperature,
            )
        except openai.OpenAIError as exc:
            raise UpstreamError(f"OpenAI: {type(exc).__name__}") from None
        usage = resp.usage.model_dump() if resp.usage else {}
        return ChatReply(content=resp.choices[0].message.content or "", usage=usage, model=resp.model)

    def chat_structured(
        self,
        *,
        system_prompt: str,
        messages: list[dict[str, str]],
        schema: type[M],
        temperature: float = 0.7,
        attempts: int = STRUCTURED_ATTEMPTS,
    ) -> M:
        """The answer as an instance of ``schema`` (validated by it), asked again while it does not
        validate; ``MalformedAnswerError`` with the last reason after ``attempts``."""
        import openai
        import pydantic

        reason = "no answer"
        for _ in range(max(1, attempts)):
            try:
                resp = _bounded(self._client).chat.completions.parse(
                    model=STRUCTURED_MODEL,
                    messages=[{"role": "system", "content": system_prompt}, *messages],
                    temperature=temperature,
                    response_format=schema,
                )
            except pydantic.ValidationError as exc:
                reason = _first_error(exc)
                continue
            except (openai.LengthFinishReasonError, openai.ContentFilterFinishReasonError) as exc:
                reason = f"the answer was cut off ({type(exc).__name__})"
                continue
            except openai.OpenAIError as exc:
                raise UpstreamError(f"OpenAI: {type(exc).__name__}") from None
            message = resp.choices[0].message
            if message.parsed is not None:
                return message.parsed  # type: ignore[no-any-return]
            reason = f"the model refused: {message.refusal}"[:300] if message.refusal else "an empty answer"
        raise MalformedAnswerError(
            f"OpenAI: the answer did not match the schema after {attempts} attempts: {reason}"
        )

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
            resp = _bounded(self._client).embeddings.create(model=model, input=texts, **extra)
        except openai.OpenAIError as exc:
            raise UpstreamError(f"OpenAI: {type(exc).__name__}") from None
        vectors = [list(d.embedding) for d in sorted(resp.data, key=lambda d: d.index)]
        if len(vectors) != len(texts) or any(len(v) != dimensions for v in vectors):
            raise UpstreamError("OpenAI: the embeddings are not of the expected size")
        return vectors


def _first_error(exc: Any) -> str:
    """A validation failure in one line: where and what (``lessons.3.title: Field required``)."""
    errors = exc.errors()
    if not errors:
        return "invalid"
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "answer"
    return f"{where}: {first.get('msg', 'invalid')}"[:300]


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
