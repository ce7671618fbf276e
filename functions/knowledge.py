"""Knowledge: what the platform knows, as chunks of text with embeddings, searched by meaning.

``knowledge:add`` chunks a text, embeds the chunks through the AI provider and stores them (a chunk
already known for the source is not stored twice); ``knowledge:search`` embeds a query and answers the
nearest chunks, within the caller's organization. The vectors reach S3 Vectors from the table's stream
(``index_vectors``, the ``KnowledgeIndexerFunction``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, StrictInt, StrictStr

from ontology.data.fields import Count, DocumentId, IdOf, KnowledgeLabels
from ontology.data.search import tokenize
from ontology.data.vectors import MAX_LIMIT as VECTOR_MAX_LIMIT
from ontology.data.vectors import index_records
from ontology.errors import NotFoundError, ValidationError
from ontology.runtime.context import ActionCtx, MutationCtx, QueryCtx
from ontology.runtime.examples import ENTITY_ID
from ontology.runtime.functions import action, mutation, query
from ontology.runtime.registry import Args
from ontology.runtime.results import Result
from ontology.services import knowledge

#: The most a text given to ``knowledge:add`` holds (it is split into chunks of about CHUNK_CHARS).
MAX_TEXT_CHARS = 40_000
MAX_TEXT_TERMS = 5_000
MAX_QUERY_CHARS = 1_000


# ------------------------------------------------------------------------------------------ add


class AddArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "sourceId": ENTITY_ID,
                    "text": "Marathon training: build the long run slowly.",
                    "labels": {"topic": "running"},
                }
            ]
        }
    )

    sourceId: DocumentId
    text: Annotated[StrictStr, Field(min_length=1, max_length=MAX_TEXT_CHARS)]
    labels: KnowledgeLabels = Field(default_factory=dict)


KnowledgeId = Annotated[str, AfterValidator(IdOf("knowledge"))]


class AddResult(Result):
    sourceId: DocumentId
    ids: list[KnowledgeId]
    added: Count
    existing: Count


@action(args=AddArgs, returns=AddResult, auth="org_user")
def add(ctx: ActionCtx, args: AddArgs) -> dict[str, Any]:
    """Store a text about a source (any document of the organization): chunked, each chunk embedded
    through the AI provider (one request), stored with the labels; chunks already known for the
    source are not stored again. Answers the chunks' ids in order."""
    if not tokenize(args.text):
        raise ValidationError("the text has no words", field="text")
    if len(tokenize(args.text)) > MAX_TEXT_TERMS:
        raise ValidationError(f"a text holds at most {MAX_TEXT_TERMS} words; add it in parts", field="text")
    if not ctx.run_query(source_exists, {"sourceId": args.sourceId}):
        raise NotFoundError("source not found", id=args.sourceId)
    stored = ctx.run_mutation(
        store_chunks,
        {"sourceId": args.sourceId, "labels": args.labels, "chunks": knowledge.embedded_chunks([args.text])},
    )
    return {"sourceId": args.sourceId, **stored}


class SourceArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"sourceId": ENTITY_ID}]})

    sourceId: DocumentId


@query(args=SourceArgs, internal=True)
def source_exists(ctx: QueryCtx, args: SourceArgs) -> bool:
    """Whether the source is a document of the caller's organization."""
    from ontology.data.keys import table_of_id
    from ontology.data.schema import table

    name = table_of_id(args.sourceId)
    if name is None or table(name).scope != "org":
        return False
    return ctx.db.get(args.sourceId, name, field="sourceId") is not None


class StoreArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "sourceId": ENTITY_ID,
                    "labels": {"topic": "running"},
                    "chunks": [
                        {
                            "text": "Marathon training: build the long run slowly.",
                            "chunkIndex": 0,
                            "contentHash": "0" * 64,
                            "embedding": [0.5, 0.5],
                        }
                    ],
                }
            ]
        }
    )

    sourceId: DocumentId
    labels: KnowledgeLabels = Field(default_factory=dict)
    chunks: Annotated[list[knowledge.Chunk], Field(min_length=1, max_length=48)]


@mutation(args=StoreArgs, internal=True)
def store_chunks(ctx: MutationCtx, args: StoreArgs) -> dict[str, Any]:
    """Insert the chunks the source does not hold yet (by content), in one transaction."""
    return knowledge.insert_chunks(ctx.db, args.sourceId, args.chunks, labels=dict(args.labels))


# --------------------------------------------------------------------------------------- search


class SearchArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"query": "marathon training plan", "sourceId": ENTITY_ID, "limit": 5}]
        }
    )

    query: Annotated[StrictStr, Field(min_length=1, max_length=MAX_QUERY_CHARS)]
    sourceId: DocumentId | None = None
    #: As Convex's vector search: 1 to 256 (S3 Vectors' topK of 100 is exceeded by shard ranges).
    limit: Annotated[StrictInt, Field(ge=1, le=VECTOR_MAX_LIMIT)] = 10


class KnowledgeHit(Result):
    id_: KnowledgeId = Field(alias="_id")
    score: float = Field(alias="_score")
    text: str
    sourceId: DocumentId
    kind: Literal["label", "chunk"]
    chunkIndex: Count | None = None
    labels: dict[str, str]


@action(args=SearchArgs, returns=list[KnowledgeHit], uses=("vectors",))
def search(ctx: ActionCtx, args: SearchArgs) -> list[dict[str, Any]]:
    """The chunks nearest in meaning to the query (its embedding, cosine similarity), most similar
    first, optionally of one source (NOT_FOUND if it is no document of the organization): each with
    its text, source, labels and ``_score``."""
    if not tokenize(args.query):
        raise ValidationError("the query has no words", field="query")
    if args.sourceId is not None and not ctx.run_query(source_exists, {"sourceId": args.sourceId}):
        raise NotFoundError("source not found", id=args.sourceId)
    hits = knowledge.nearest_chunks(ctx, args.query, args.limit, source_id=args.sourceId)
    return [
        {
            "_id": hit["_id"],
            "_score": hit["_score"],
            "text": hit["text"],
            "sourceId": hit["sourceId"],
            "kind": hit["kind"],
            "chunkIndex": hit.get("chunkIndex"),
            "labels": hit.get("labels", {}),
        }
        for hit in hits
    ]


class IdsArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"ids": ["kno_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"]}]})

    ids: Annotated[list[StrictStr], Field(max_length=256)]


@query(args=IdsArgs, internal=True)
def chunks_by_id(ctx: QueryCtx, args: IdsArgs) -> dict[str, Any]:
    """The knowledge documents of these ids (of the caller's organization), without their vectors."""
    return knowledge.chunks_by_id(ctx.db, args.ids)


# -------------------------------------------------------------------------------------- indexer


def index_vectors(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """The table's stream → S3 Vectors: each knowledge document's vector put, changed or deleted
    (``KnowledgeIndexerFunction``; idempotent, so a redelivered record changes nothing)."""
    from ontology.runtime.streams import batch_response

    records = list(event.get("Records", []))
    failures = index_records(records)
    if not failures:
        return batch_response(records, None)
    sequence = failures[0]["itemIdentifier"]
    sequences = [(r.get("dynamodb") or {}).get("SequenceNumber") for r in records]
    return batch_response(records, sequences.index(sequence) if sequence in sequences else 0)
