"""A Convex snapshot ZIP as ``npx convex export --include-file-storage`` writes one for the reference's
schema: its tables numbered as a schema push numbers them, ids with their checksums, references in
``v.id`` fields and inside ``properties``/``metadata``, a stored file, and what an importer must
refuse or leave out (bytes in a typed field, a creator's email twice, a platform table, a component)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

from infra.local.openai_stub import embedding
from ontology.snapshot.archive import SnapshotWriter
from ontology.snapshot.ids import STORAGE_TABLE_NUMBER, make_id
from ontology.snapshot.values import encode_line

#: A schema push creates the missing tables in alphabetical order.
NUMBERS = {"connections": 10001, "entities": 10002, "events": 10003, "knowledge": 10004, "tags": 10005}
NUMBERS_WITH_USERS = {**NUMBERS, "users": 10006}
DAY = 20157  # 2025-03-10


def cid(table: str, n: int) -> str:
    number = STORAGE_TABLE_NUMBER if table == "_storage" else NUMBERS_WITH_USERS[table]
    return make_id(number, hashlib.sha256(f"{table}{n}".encode()).digest()[:14] + DAY.to_bytes(2, "big"))


CHUNK = "Glaze recipes for firing at cone six"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(73))
CT = 1741615391483.5596


def documents() -> dict[str, list[dict[str, Any]]]:
    creator, token, post, asset, refused_bytes, twin = (cid("entities", i) for i in range(6))
    image = cid("_storage", 0)
    return {
        "entities": [
            {
                "_id": creator,
                "_creationTime": CT,
                "type": "creator",
                "name": "渡辺 健二",
                "status": "active",
                "createdAt": 1741615391482.0,
                "updatedAt": 1741615391482.0,
                "properties": {
                    "email": "kenji@example.com",
                    "username": "kenji",
                    "displayName": "渡辺 健二",
                    "niche": ["pottery"],
                    "totalFollowers": 12.0,
                },
            },
            {
                "_id": token,
                "_creationTime": CT + 1,
                "type": "token",
                "name": "Kiln Coin",
                "status": "active",
                "createdAt": 1741615391483.0,
                "updatedAt": 1741615391483.0,
                "properties": {
                    "contractAddress": "0x" + "ab" * 20,
                    "blockchain": "base",
                    "standard": "ERC20",
                    "totalSupply": 1000000.0,
                    "price": 0.5,
                    "priceUsd": 0.5,
                    "symbol": "KILN",
                    "creatorId": creator,
                    "image": image,
                },
            },
            {
                "_id": post,
                "_creationTime": CT + 2,
                "type": "blog_post",
                "name": "Glazes at cone six",
                "status": "published",
                "createdAt": 1741615391484.0,
                "updatedAt": 1741615391484.0,
                "properties": {
                    "body": "Unicode ✓ and a NUL-free text",
                    "ratio": 0.0731,
                    "noiseFloor": 0.000032,
                    "minusZero": -0.0,
                    "supply": 1000000000000000000,
                    "related": [creator, {"deep": token}],
                    "notAnId": "j57zzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
                    "raw": b"\x00\x01\xfe\xff",
                    "limits": [float("inf"), float("-inf")],
                    "small64": 33,
                },
            },
            {
                "_id": asset,
                "_creationTime": CT + 3,
                "type": "media_asset",
                "name": "kiln.png",
                "createdAt": 1741615391485.0,
                "updatedAt": 1741615391485.0,
                "properties": {"storageId": image, "fileType": "image/png", "fileSize": 81.0},
            },
            {
                "_id": refused_bytes,
                "_creationTime": CT + 4,
                "type": "blog_post",
                "name": b"Raw",
                "createdAt": 1.0,
                "updatedAt": 1.0,
                "properties": {"raw": b"\x00\x01"},
            },
            {
                "_id": twin,
                "_creationTime": CT + 5,
                "type": "creator",
                "name": "Kenji again",
                "createdAt": 1.0,
                "updatedAt": 1.0,
                "properties": {"email": "KENJI@example.com", "username": "k2", "displayName": "K"},
            },
        ],
        "connections": [
            {
                "_id": cid("connections", 0),
                "_creationTime": CT + 6,
                "fromEntityId": creator,
                "toEntityId": post,
                "relationshipType": "authored",
                "createdAt": 1741615391486.0,
                "metadata": {"via": token},
            }
        ],
        "events": [
            {
                "_id": cid("events", 0),
                "_creationTime": CT + 7,
                "type": "content_uploaded",
                "actorId": creator,
                "targetId": post,
                "timestamp": 1741615391487.0,
                "metadata": {"asset": asset, "file": image},
            }
        ],
        "tags": [
            {
                "_id": cid("tags", 0),
                "_creationTime": CT + 8,
                "entityId": post,
                "key": "topic",
                "value": "glaze",
            }
        ],
        "knowledge": [
            {
                "_id": cid("knowledge", 0),
                "_creationTime": CT + 9,
                "kind": "label",
                "text": "glazes",
                "sourceId": post,
                "labels": {"topic": "glaze"},
                "createdAt": 1741615391488.0,
                "updatedAt": 1741615391488.0,
            },
            {
                "_id": cid("knowledge", 1),
                "_creationTime": CT + 10,
                "kind": "chunk",
                "text": CHUNK,
                "sourceId": post,
                "chunkIndex": 0,
                "contentHash": hashlib.sha256(CHUNK.encode()).hexdigest(),
                "embedding": embedding(CHUNK),  # the local stack's embedding of its text
                "labels": {},
                "createdAt": 1741615391489.0,
                "updatedAt": 1741615391489.0,
            },
        ],
        "users": [{"_id": cid("users", 0), "_creationTime": CT, "email": "kenji@example.com"}],
    }


def write_snapshot(path: Path) -> dict[str, list[dict[str, Any]]]:
    """The snapshot at ``path``; its documents, by table."""
    docs = documents()
    writer = SnapshotWriter(path)
    writer.write_tables(sorted(NUMBERS_WITH_USERS.items(), key=lambda p: p[1]))
    for name, rows in docs.items():
        writer.write_table(name, sorted(encode_line(d) for d in rows))
    writer.write_entry("_components/chat/messages/documents.jsonl", b"")
    image = cid("_storage", 0)
    metadata = {
        "_id": image,
        "_creationTime": 1741615331483.5596,
        "sha256": base64.b64encode(hashlib.sha256(PNG).digest()).decode(),
        "size": len(PNG),
        "contentType": "image/png",
        "internalId": "7590ea94-f202-4032-8274-d39a86709ad1",
    }
    writer.write_storage([metadata], iter([(f"{image}.png", PNG)]))
    writer.close()
    return docs
