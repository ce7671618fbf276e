"""A local OpenAI-compatible endpoint: ``/v1/chat/completions`` and ``/v1/embeddings``.

It answers deterministically (the same request, the same answer) and says it is local, so the
platform's AI flows run end to end through the real ``openai`` SDK with no network and no key.
"""

from __future__ import annotations

import hashlib
import math
import struct
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

DIMENSIONS = 1536


def _words(text: str) -> int:
    return max(1, len(text.split()))


def chat_reply(messages: list[dict[str, Any]], model: str) -> dict[str, Any]:
    prompt = "\n".join(str(m.get("content", "")) for m in messages)
    last_user = next((str(m.get("content", "")) for m in reversed(messages) if m.get("role") == "user"), "")
    digest = hashlib.sha256(prompt.encode()).hexdigest()[:8]
    content = f"[local model {digest}] A deterministic reply to: {last_user[:200]}"
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


def embedding(text: str) -> list[float]:
    """A unit vector derived from the text's SHA-256 (equal texts, equal vectors)."""
    values: list[float] = []
    counter = 0
    while len(values) < DIMENSIONS:
        block = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        values.extend(v / 2**31 - 1.0 for v in struct.unpack(">8I", block))
        counter += 1
    values = values[:DIMENSIONS]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


async def chat_completions(request: Request) -> JSONResponse:
    body = await request.json()
    return JSONResponse(chat_reply(body.get("messages", []), str(body.get("model", "gpt"))))


async def embeddings(request: Request) -> JSONResponse:
    body = await request.json()
    inputs = body.get("input", "")
    texts = inputs if isinstance(inputs, list) else [inputs]
    data = [{"object": "embedding", "index": i, "embedding": embedding(str(t))} for i, t in enumerate(texts)]
    tokens = sum(_words(str(t)) for t in texts)
    return JSONResponse(
        {
            "object": "list",
            "data": data,
            "model": f"local/{body.get('model', 'embedding')}",
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )


ROUTES = {"/_local/openai/v1/chat/completions": chat_completions, "/_local/openai/v1/embeddings": embeddings}
