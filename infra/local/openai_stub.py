"""A local OpenAI-compatible endpoint: ``/v1/chat/completions`` and ``/v1/embeddings``.

It answers deterministically (the same request, the same answer) and says it is local, so the
platform's AI flows run end to end through the real ``openai`` SDK with no network and no key.
A request with ``response_format: {"type": "json_schema", ...}`` (structured output) is answered with
JSON that follows the schema: ``$ref``/``$defs``, ``anyOf``, ``enum``, ``minItems``/``maxItems``,
``minLength``/``maxLength`` and numeric bounds are honoured, strings are made of the property's name, its
position and the words of the last user message.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

DIMENSIONS = 1536


def _words(text: str) -> int:
    return max(1, len(text.split()))


_NOTE = re.compile(r"^\[(\d+)\] (.+)$", re.MULTILINE)


def chat_reply(
    messages: list[dict[str, Any]], model: str, response_format: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A deterministic answer to the last user message; when the system prompt numbers notes to answer
    from (``[1] …``), the answer quotes the first and cites it, so a test can see what grounded it.
    With a JSON Schema ``response_format`` the answer is a JSON instance of the schema."""
    prompt = "\n".join(str(m.get("content", "")) for m in messages)
    last_user = next((str(m.get("content", "")) for m in reversed(messages) if m.get("role") == "user"), "")
    digest = hashlib.sha256(prompt.encode()).hexdigest()[:8]
    system = "\n".join(str(m.get("content", "")) for m in messages if m.get("role") == "system")
    notes = _NOTE.findall(system)
    content = f"[local model {digest}] A deterministic reply to: {last_user[:200]}"
    if notes:
        number, note = notes[0]
        content += f' According to [{number}]: "{note[:300]}"'
    schema = (response_format or {}).get("json_schema", {}).get("schema")
    if (response_format or {}).get("type") == "json_schema" and isinstance(schema, dict):
        hint = " ".join(last_user.split()[:12]) or "the topic"
        content = json.dumps(schema_instance(schema, hint))
    return {
        "id": f"chatcmpl-local-{digest}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": f"local/{model}",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
        "usage": {
            "prompt_tokens": _words(prompt),
            "completion_tokens": _words(content),
            "total_tokens": _words(prompt) + _words(content),
        },
    }


def schema_instance(schema: dict[str, Any], hint: str) -> Any:
    """A JSON value that follows ``schema`` (the subset structured outputs allow), the same every time."""
    defs = schema.get("$defs", {}) | schema.get("definitions", {})

    def make(node: dict[str, Any], path: tuple[str | int, ...]) -> Any:
        ref = node.get("$ref")
        if isinstance(ref, str):
            node = defs.get(ref.rsplit("/", 1)[-1], {})
        options = node.get("anyOf") or node.get("oneOf")
        if options:
            node = next((o for o in options if o.get("type") != "null"), options[0])
            return make(node, path)
        index = next((p for p in reversed(path) if isinstance(p, int)), 0)
        if "const" in node:
            return node["const"]
        if node.get("enum"):
            return node["enum"][index % len(node["enum"])]
        kind = node.get("type", "object")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind == "object":
            properties = node.get("properties", {})
            return {k: make(v, (*path, k)) for k, v in properties.items()}
        if kind == "array":
            low, high = int(node.get("minItems", 0)), node.get("maxItems")
            count = max(low, min(3, high if high is not None else 3))
            return [make(node.get("items", {}), (*path, i)) for i in range(count)]
        if kind in ("integer", "number"):
            low = node.get(
                "minimum", node.get("exclusiveMinimum", 0) + (1 if "exclusiveMinimum" in node else 0)
            )
            value = max(low, 1 + index)
            if "maximum" in node:
                value = min(value, node["maximum"])
            return int(value) if kind == "integer" else float(value)
        if kind == "boolean":
            return index % 2 == 0
        if kind == "null":
            return None
        label = next((p for p in reversed(path) if isinstance(p, str)), "text")
        text = f"{label.capitalize()} {index + 1}: {hint}"
        text = text[: node.get("maxLength", len(text))]
        return text + "." * max(0, int(node.get("minLength", 0)) - len(text))

    return make(schema, ())


_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "that",
        "the",
        "their",
        "this",
        "to",
        "was",
        "we",
        "what",
        "when",
        "where",
        "which",
        "who",
        "will",
        "with",
        "you",
        "your",
    ]
)
_SUFFIXES = ("ing", "ers", "er", "ed", "es", "s")


def _stem(term: str) -> str:
    for suffix in _SUFFIXES:
        if term.endswith(suffix) and len(term) - len(suffix) >= 3:
            return term[: -len(suffix)]
    return term


@functools.lru_cache(maxsize=8192)
def _direction(word: str, dimensions: int) -> Any:
    import numpy as np

    seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "big")
    return np.random.default_rng(seed).standard_normal(dimensions).astype(np.float32)


def embedding(text: str, dimensions: int = DIMENSIONS) -> list[float]:
    """A deterministic unit vector whose similarity follows shared words: the sum of one fixed random
    direction per word (lowercased, stop words left out, a light stem: "training" ~ "train", "plans" ~
    "plan"), so texts that share words are near and texts that share none are nearly orthogonal."""
    import numpy as np

    from ontology.data.search import tokenize

    words = [_stem(t) for t in tokenize(text) if t not in _STOPWORDS] or [f"\x00{text}"]
    total = np.zeros(dimensions, dtype=np.float32)
    for word in words:
        total += _direction(word, dimensions)
    norm = float(np.linalg.norm(total)) or 1.0
    return [float(x) for x in total / norm]


class LocalAI:
    """The AI port answered in process the way this endpoint answers over HTTP (benchmarks and
    in-process tests): counted per kind of call; ``down`` makes every call UPSTREAM_ERROR."""

    def __init__(self, dimensions: int = DIMENSIONS) -> None:
        self.dimensions = dimensions
        self.down = False
        self.embeds = self.chats = self.structured = 0
        #: The last chat request: its system prompt and messages, as the model received them.
        self.last_chat: list[dict[str, str]] = []

    @property
    def calls(self) -> int:
        return self.embeds + self.chats + self.structured

    def reset(self) -> None:
        self.embeds = self.chats = self.structured = 0

    def _check(self) -> None:
        if self.down:
            from ontology.errors import UpstreamError

            raise UpstreamError("OpenAI: APIConnectionError")

    def embed(self, text: str) -> list[float]:
        return self.embed_many([text])[0]

    def embed_many(self, texts: list[str]) -> list[list[float]]:
        self._check()
        self.embeds += 1
        return [embedding(t, self.dimensions) for t in texts]

    def chat(self, *, system_prompt: str, messages: list[dict[str, str]], temperature: float = 0.7) -> Any:
        from ontology.providers.ai import ChatReply

        self._check()
        self.chats += 1
        self.last_chat = [{"role": "system", "content": system_prompt}, *messages]
        reply = chat_reply(self.last_chat, "local")
        return ChatReply(content=reply["choices"][0]["message"]["content"], model=reply["model"])

    def chat_structured(
        self, *, system_prompt: str, messages: list[dict[str, str]], schema: Any, **_: Any
    ) -> Any:
        from openai.lib._pydantic import to_strict_json_schema

        self._check()
        self.structured += 1
        hint = " ".join(str(messages[-1]["content"]).split()[:12]) if messages else "the topic"
        return schema.model_validate(schema_instance(to_strict_json_schema(schema), hint))


#: Statuses the next calls answer with (``POST /_local/openai/_fail {"times", "status"}``: tests take
#: the model down with it); ``{"times": n, "answer": "malformed"}`` instead makes the next n structured
#: answers JSON that does not follow their schema (a model getting the shape wrong).
_failures: list[int] = []
_malformed: list[int] = [0]


def _failing() -> JSONResponse | None:
    if _failures:
        status = _failures.pop(0)
        return JSONResponse(
            {"error": {"message": "The server is overloaded", "type": "server_error"}}, status_code=status
        )
    return None


async def fail(request: Request) -> JSONResponse:
    body = await request.json()
    if body.get("answer") == "malformed":
        _malformed[0] = int(body.get("times", 1))
        return JSONResponse({"malformed": _malformed[0]})
    _failures[:] = [int(body.get("status", 503))] * int(body.get("times", 1))
    return JSONResponse({"failing": len(_failures)})


async def chat_completions(request: Request) -> JSONResponse:
    if (failed := _failing()) is not None:
        return failed
    body = await request.json()
    response_format = body.get("response_format") if isinstance(body.get("response_format"), dict) else None
    reply = chat_reply(body.get("messages", []), str(body.get("model", "gpt")), response_format)
    if response_format is not None and _malformed[0] > 0:
        _malformed[0] -= 1
        reply["choices"][0]["message"]["content"] = json.dumps({"unexpected": "not the requested shape"})
    return JSONResponse(reply)


async def embeddings(request: Request) -> JSONResponse:
    if (failed := _failing()) is not None:
        return failed
    body = await request.json()
    inputs = body.get("input", "")
    texts = inputs if isinstance(inputs, list) else [inputs]
    dimensions = body.get("dimensions") or DIMENSIONS
    if not isinstance(dimensions, int) or not 1 <= dimensions <= 4096 or not texts or len(texts) > 2048:
        error = {"message": "invalid dimensions or input", "type": "invalid_request_error"}
        return JSONResponse({"error": error}, status_code=400)
    data = [
        {"object": "embedding", "index": i, "embedding": embedding(str(t), dimensions)}
        for i, t in enumerate(texts)
    ]
    tokens = sum(_words(str(t)) for t in texts)
    return JSONResponse(
        {
            "object": "list",
            "data": data,
            "model": f"local/{body.get('model', 'embedding')}",
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )


ROUTES = {
    "/_local/openai/v1/chat/completions": chat_completions,
    "/_local/openai/v1/embeddings": embeddings,
    "/_local/openai/_fail": fail,
}
