"""Knowledge as chunks of text with embeddings: chunking, embedding, storing a source's chunks once
by content, and finding the chunks nearest a text in meaning. ``knowledge:add`` and ``knowledge:search``
stand on it, and so does a clone's training and grounding.

Example::

    chunks = embedded_chunks(["Marathon training: build the long run slowly."])
    insert_chunks(ctx.db, source_id, [Chunk.model_validate(c) for c in chunks], labels={})
"""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, Any

from pydantic import Field, StrictInt, StrictStr

from ontology.data.db import DatabaseReader, DatabaseWriter
from ontology.data.fields import MAX_KNOWLEDGE_TEXT
from ontology.data.keys import now_ms
from ontology.runtime.context import ActionCtx
from ontology.runtime.results import Result

__all__ = [
    "CHUNK_CHARS",
    "Chunk",
    "chunk_text",
    "chunks_by_id",
    "content_hash",
    "embedded_chunks",
    "insert_chunks",
    "nearest_chunks",
]

#: The most characters in one chunk.
CHUNK_CHARS = 1_000
#: Chunks embedded in one request to the AI provider.
EMBED_BATCH = 96


def chunk_text(text: str, size: int = CHUNK_CHARS) -> list[str]:
    """Split ``text`` into chunks of at most ``size`` characters, at sentence ends where it can, at
    word boundaries where a sentence is longer (never inside a word shorter than ``size``)."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+|\n{2,}", text.strip()) if s.strip()]
    chunks: list[str] = []
    current = ""
    for sentence in sentences:
        pieces = [sentence]
        if len(sentence) > size:
            pieces, piece = [], ""
            for whole in sentence.split():
                word = whole
                while len(word) > size:
                    pieces.append(word[:size])
                    word = word[size:]
                if piece and len(piece) + 1 + len(word) > size:
                    pieces.append(piece)
                    piece = ""
                piece = f"{piece} {word}" if piece else word
            if piece:
                pieces.append(piece)
        for p in pieces:
            if current and len(current) + 1 + len(p) > size:
                chunks.append(current)
                current = ""
            current = f"{current} {p}" if current else p
    if current:
        chunks.append(current)
    return chunks


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class Chunk(Result):
    """A chunk ready to store: its text, its place in its text, its content hash and embedding."""

    text: Annotated[StrictStr, Field(min_length=1, max_length=MAX_KNOWLEDGE_TEXT)]
    chunkIndex: Annotated[StrictInt, Field(ge=0, le=100_000)]
    contentHash: Annotated[StrictStr, Field(pattern=r"^[0-9a-f]{64}$")]
    embedding: list[float]


def embedded_chunks(texts: list[str]) -> list[dict[str, Any]]:
    """The texts chunked and embedded (one request to the AI provider per EMBED_BATCH chunks), as
    ``Chunk`` arguments: ``[{text, chunkIndex, contentHash, embedding}]``."""
    from ontology.providers.ai import get_ai

    pieces = [(i, c) for text in texts for i, c in enumerate(chunk_text(text))]
    vectors: list[list[float]] = []
    for start in range(0, len(pieces), EMBED_BATCH):
        vectors += get_ai().embed_many([c for _, c in pieces[start : start + EMBED_BATCH]])
    return [
        {"text": c, "chunkIndex": i, "contentHash": content_hash(c), "embedding": v}
        for (i, c), v in zip(pieces, vectors, strict=True)
    ]


def insert_chunks(
    db: DatabaseWriter,
    source_id: str,
    chunks: list[Chunk],
    *,
    labels: dict[str, str],
    owner_id: str | None = None,
) -> dict[str, Any]:
    """Insert the chunks ``source_id`` does not hold yet (by content hash): ``{ids, added, existing}``."""
    now = now_ms()
    ids: list[str] = []
    added = 0
    for chunk in chunks:
        key = {"kind": "chunk", "sourceId": source_id, "contentHash": chunk.contentHash}
        known = db.lookup_unique("knowledge", "chunk", key)
        if known is not None:
            ids.append(known["_id"])
            continue
        doc: dict[str, Any] = {
            "kind": "chunk",
            "text": chunk.text,
            "sourceId": source_id,
            "chunkIndex": chunk.chunkIndex,
            "contentHash": chunk.contentHash,
            "embedding": chunk.embedding,
            "labels": labels,
            "createdAt": now,
            "updatedAt": now,
        }
        if owner_id:
            doc["ownerId"] = owner_id
        ids.append(db.insert("knowledge", doc))
        added += 1
    return {"ids": ids, "added": added, "existing": len(ids) - added}


def chunks_by_id(db: DatabaseReader, ids: list[str]) -> dict[str, Any]:
    """The knowledge documents of these ids (of the caller's organization), without their vectors."""
    docs = db.get_many(ids, "knowledge")
    return {d["_id"]: {k: v for k, v in d.items() if k != "embedding"} for d in docs if d is not None}


def nearest_chunks(
    ctx: ActionCtx,
    text: str,
    limit: int,
    *,
    source_id: str | None = None,
    owner_id: str | None = None,
) -> list[dict[str, Any]]:
    """The chunks nearest ``text`` in meaning (its embedding, cosine similarity), most similar first,
    of one source or of one owner's chunks when given: each chunk's document (without its vector)
    with its ``_score``. A chunk deleted since the index last heard of it is left out."""
    from ontology.providers.ai import get_ai

    opts: dict[str, Any] = {"vector": get_ai().embed(text), "limit": limit}
    if source_id is not None:
        opts["filter"] = lambda q: q.eq("sourceId", source_id)
    elif owner_id is not None:
        opts["filter"] = lambda q: q.eq("ownerId", owner_id)
    hits = ctx.vector_search("knowledge", "by_embedding", opts)
    if not hits:
        return []
    # An action reads through a query: the knowledge namespace's own.
    docs = ctx.run_query("knowledge:chunks_by_id", {"ids": [h["_id"] for h in hits]})
    return [{**docs[h["_id"]], "_score": h["_score"]} for h in hits if h["_id"] in docs]
