"""Vector search (Convex's ``vectorIndex`` and ``ctx.vectorSearch``) on S3 Vectors.

A table declares a vector index (:class:`~ontology.data.indexes.VectorIndex`: the vector field, its
dimensions, filter fields). The vectors live in the table's documents; the table's stream copies them
into one S3 Vectors index per declared index (:func:`index_records`: ``PutVectors`` as a document gains
or changes its vector, ``DeleteVectors`` as it loses it or is deleted; the key is the document's id, the
filterable metadata its organization, its filter fields and a shard number). A search
(:func:`vector_search`) asks S3 Vectors for the nearest vectors by cosine similarity, always within the
caller's organization: the platform adds that filter, a caller cannot remove it.

S3 Vectors answers at most 100 results a query (``topK``). A limit above that is served by splitting the
index's shard numbers (0-63, from the id) into ranges of about 50 expected results each, one query per
range, merged by score; a range that came back full with results at or above the merged cut-off is
split in two and asked again, so no range's answer is cut short.

S3 Vectors' search is approximate (it may miss some of the true nearest neighbours, and a vector put
a moment ago may not be searchable yet): results are the nearest it found, most similar first, never
a promise that nothing nearer exists. Nothing here relies on more.

Example (in an action)::

    hits = ctx.vector_search("knowledge", "by_embedding", {
        "vector": embedding, "limit": 5,
        "filter": lambda q: q.or_(q.eq("sourceId", a), q.eq("sourceId", b)),
    })  # [{"_id": "kno_…", "_score": 0.83}, …]
"""

from __future__ import annotations

import json
import logging
import math
import zlib
from collections.abc import Callable, Mapping
from typing import Any

from ontology.data.indexes import VectorIndex, get_path
from ontology.errors import UpstreamError, ValidationError

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_FILTER_VALUES",
    "MAX_LIMIT",
    "check_vector",
    "index_records",
    "vector_search",
]

DEFAULT_LIMIT = 10
MAX_LIMIT = 256
MAX_FILTER_VALUES = 64
TOP_K = 100
SHARDS = 64
ORG_KEY = "organizationId"
#: The item attribute a vector backfill sets (``ontology.data.migrations.backfills.VECTOR_STAMP``).
BACKFILL_STAMP = "vb"
SHARD_KEY = "shard"


def check_vector(vector: Any, dimensions: int, *, field: str = "vector") -> list[float]:
    """A vector of ``dimensions`` finite numbers, as floats; VALIDATION_ERROR otherwise."""
    if not isinstance(vector, list | tuple):
        raise ValidationError(f"{field} must be an array of numbers", field=field)
    if len(vector) != dimensions:
        raise ValidationError(
            f"{field} has {len(vector)} dimensions; the index has {dimensions}",
            field=field,
            expected=dimensions,
        )
    out: list[float] = []
    for v in vector:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise ValidationError(f"{field} holds a value that is not a finite number", field=field)
        out.append(float(v))
    if not any(out):
        raise ValidationError(f"{field} is all zeros: it has no direction to compare", field=field)
    return out


def shard_of(doc_id: str) -> int:
    return zlib.crc32(doc_id.encode()) % SHARDS


def s3_index_name(table: str, index: str) -> str:
    """The S3 Vectors index of a declared vector index (lowercase letters, digits, hyphens)."""
    return f"{table}-{index}".lower().replace("_", "-")


# ---------------------------------------------------------------------------------------- filters


class _Expr:
    __slots__ = ("terms",)

    def __init__(self, terms: list[tuple[str, Any]]) -> None:
        self.terms = terms


class VectorFilterBuilder:
    """The ``q`` of a vector search's filter: ``eq`` on a filter field, ``or_`` of those (Convex's)."""

    def __init__(self, index: VectorIndex) -> None:
        self._index = index

    def eq(self, field: str, value: Any) -> _Expr:
        if field not in self._index.filter_fields:
            known = ", ".join(self._index.filter_fields) or "nothing"
            raise ValidationError(
                f"vector index {self._index.name} filters on {known}, not {field!r}", field="filter"
            )
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValidationError("a vector filter compares with a string or a number", field="filter")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValidationError("a vector filter compares with a finite number", field="filter")
        return _Expr([(field, value)])

    def or_(self, *exprs: _Expr) -> _Expr:
        terms: list[tuple[str, Any]] = []
        for e in exprs:
            if not isinstance(e, _Expr):
                raise ValidationError("or_() takes q.eq(...) expressions", field="filter")
            terms += e.terms
        if not terms:
            raise ValidationError("or_() needs at least one q.eq(...)", field="filter")
        return _Expr(terms)

    # Convex's spelling, for code ported as is
    def __getattr__(self, name: str) -> Any:
        if name == "or":
            return self.or_
        raise AttributeError(name)


def build_filter(
    index: VectorIndex, build: Callable[[VectorFilterBuilder], Any] | None
) -> dict[str, Any] | None:
    """The caller's filter as S3 Vectors metadata filter JSON (None: no filter)."""
    if build is None:
        return None
    if not callable(build):
        raise ValidationError("filter must be a function of q", field="filter")
    expr = build(VectorFilterBuilder(index))
    if not isinstance(expr, _Expr):
        raise ValidationError("filter must return q.eq(...) or q.or_(...)", field="filter")
    if len(expr.terms) > MAX_FILTER_VALUES:
        raise ValidationError(
            f"a vector filter compares at most {MAX_FILTER_VALUES} values",
            field="filter",
            limit=MAX_FILTER_VALUES,
        )
    clauses = [{f: {"$eq": v}} for f, v in dict.fromkeys(expr.terms)]
    return clauses[0] if len(clauses) == 1 else {"$or": clauses}


# ----------------------------------------------------------------------------------------- search


def _client() -> Any:
    from ontology.aws import client

    return client("s3vectors")


def index_arn(name: str) -> str:
    """The ARN of the S3 Vectors index ``name`` in the platform's vector bucket."""
    from ontology.settings import get_settings

    bucket = get_settings().vector_bucket_arn
    if not bucket:
        from ontology.errors import InternalError

        raise InternalError("Vector search is not configured (no vector bucket)")
    return f"{bucket}/index/{name}"


def _query(index_name: str, vector: list[float], top_k: int, flt: dict[str, Any]) -> list[tuple[str, float]]:
    try:
        resp = _client().query_vectors(
            indexArn=index_arn(index_name),
            queryVector={"float32": vector},
            topK=top_k,
            filter=flt,
            returnDistance=True,
            returnMetadata=False,
        )
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
        logger.warning("QueryVectors failed", extra={"error": code})
        raise UpstreamError(f"The vector index did not answer ({code})") from None
    return [(v["key"], 1.0 - float(v.get("distance", 1.0))) for v in resp.get("vectors", [])]


def vector_search(
    table_name: str, index_name: str, opts: Mapping[str, Any], *, organization_id: str
) -> list[dict[str, Any]]:
    """``[{"_id", "_score"}]``, most similar first, for ``opts`` = ``{vector, limit?, filter?}``."""
    from ontology.data.schema import table

    t = table(table_name)
    index = t.index(index_name)
    if not isinstance(index, VectorIndex):
        raise ValidationError(f"{index_name} is not a vector index of {table_name}", field="index")
    if not isinstance(opts, Mapping):
        raise ValidationError("vector search options must be an object", field="opts")
    unknown = set(opts) - {"vector", "limit", "filter"}
    if unknown:
        raise ValidationError(f"unknown vector search options: {', '.join(sorted(unknown))}", field="opts")
    vector = check_vector(opts.get("vector"), index.dimensions)
    limit = opts.get("limit", DEFAULT_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(f"limit must be an integer from 1 to {MAX_LIMIT}", field="limit")
    user = build_filter(index, opts.get("filter"))
    scope: dict[str, Any] = {ORG_KEY: {"$eq": organization_id}}
    s3_name = s3_index_name(t.name, index.name)

    def ask(lo: int, hi: int, top_k: int) -> list[tuple[str, float]]:
        clauses: list[dict[str, Any]] = [scope]
        if hi - lo < SHARDS:
            clauses.append({SHARD_KEY: {"$gte": lo, "$lt": hi}})
        if user is not None:
            clauses.append(user)
        return _query(s3_name, vector, top_k, clauses[0] if len(clauses) == 1 else {"$and": clauses})

    found = ask(0, SHARDS, limit) if limit <= TOP_K else _wide(ask, limit)
    return [{"_id": key, "_score": score} for key, score in found[:limit]]


def _wide(ask: Callable[[int, int, int], list[tuple[str, float]]], limit: int) -> list[tuple[str, float]]:
    """More than TOP_K results: one query per shard range, ranges split until the merge is exact."""
    parts = math.ceil(limit / (TOP_K // 2))
    bounds = [round(i * SHARDS / parts) for i in range(parts + 1)]
    pending = [(bounds[i], bounds[i + 1]) for i in range(parts) if bounds[i] < bounds[i + 1]]
    answers: dict[tuple[int, int], list[tuple[str, float]]] = {}
    while pending:
        for lo, hi in pending:
            answers[(lo, hi)] = ask(lo, hi, TOP_K)
        merged = sorted((hit for hits in answers.values() for hit in hits), key=lambda h: (-h[1], h[0]))
        cut = merged[limit - 1][1] if len(merged) >= limit else -math.inf
        pending = []
        for (lo, hi), hits in list(answers.items()):
            if len(hits) == TOP_K and hits[-1][1] >= cut and hi - lo > 1:
                # this range may hold more of the top than it could answer: ask its halves
                del answers[(lo, hi)]
                mid = (lo + hi) // 2
                pending += [(lo, mid), (mid, hi)]
    merged = sorted((hit for hits in answers.values() for hit in hits), key=lambda h: (-h[1], h[0]))
    return merged


# ---------------------------------------------------------------------------------------- indexer


def _vector_of(
    index: VectorIndex, image: Mapping[str, Any] | None
) -> tuple[list[float], dict[str, Any]] | None:
    """A stream image's vector and filter values (None: the document has no vector)."""
    if not image or "doc" not in image:
        return None
    doc = json.loads(image["doc"]["S"])
    vector = get_path(doc, index.vector_field)
    if not isinstance(vector, list) or len(vector) != index.dimensions:
        return None
    values = {}
    for f in index.filter_fields:
        v = get_path(doc, f)
        if isinstance(v, str | int | float) and not isinstance(v, bool):
            values[f] = v
    return [float(x) for x in vector], values


def index_records(records: list[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Apply stream records to the S3 Vectors indexes: returns the batch item failures (from the first
    record that failed on, so Lambda retries it and everything after it, in order).

    Idempotent: a put writes the document's current vector under its id, a delete removes it, so a
    record delivered twice leaves the index as it was."""
    from ontology.data.schema import TABLES

    by_table = {t.name: t for t in TABLES.values() if t.vector_indexes}
    for position, record in enumerate(records):
        try:
            ddb = record.get("dynamodb", {})
            new, old = ddb.get("NewImage"), ddb.get("OldImage")
            image = new or old or {}
            t = by_table.get(image.get("tb", {}).get("S", ""))
            if t is None:
                continue
            pk = image["pk"]["S"]
            org, _, doc_id = pk.rpartition("#")
            # a backfill's stamp (ontology.data.migrations.backfills) asks for the vector again
            stamped = (new or {}).get(BACKFILL_STAMP) != (old or {}).get(BACKFILL_STAMP)
            for index in t.vector_indexes:
                _apply(
                    s3_index_name(t.name, index.name),
                    doc_id,
                    org,
                    _vector_of(index, new),
                    None if stamped and new else _vector_of(index, old),
                )
        except Exception:
            logger.exception("vector indexing failed; the stream will deliver the record again")
            return [
                {"itemIdentifier": r.get("dynamodb", {}).get("SequenceNumber", "")}
                for r in records[position:]
            ][:1]
    return []


def _apply(
    index_name: str,
    doc_id: str,
    org: str,
    new: tuple[list[float], dict[str, Any]] | None,
    old: tuple[list[float], dict[str, Any]] | None,
) -> None:
    if new is None:
        if old is not None:
            _client().delete_vectors(indexArn=index_arn(index_name), keys=[doc_id])
        return
    if old is not None and old == new:
        return
    vector, values = new
    metadata = {ORG_KEY: org, SHARD_KEY: shard_of(doc_id), **values}
    _client().put_vectors(
        indexArn=index_arn(index_name),
        vectors=[{"key": doc_id, "data": {"float32": vector}, "metadata": metadata}],
    )
