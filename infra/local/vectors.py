"""S3 Vectors locally: moto stores the vectors, this answers ``QueryVectors`` (which moto lacks).

moto emulates buckets, indexes and ``PutVectors`` / ``GetVectors`` / ``ListVectors`` /
``DeleteVectors`` but not ``QueryVectors`` (getmoto/moto#9507); in process, botocore would send that
call to the real AWS endpoint. :func:`install` adds it to moto's S3 Vectors service, with the same
request and response shapes, as an **exact** search: every vector of the index that passes the
metadata filter, by cosine distance (``1 - cosine similarity``), as a matrix product with numpy.
S3 Vectors' own search is approximate: under AWS-strict ``vectors`` each query misses a share of the
true neighbours (``ONE_LOCAL_VECTOR_RECALL``), as an approximate index may. Each
index keeps its vectors as float32 rows (moto's lists of Python floats cost ~30 bytes a component),
rebuilt into one matrix after writes.

The filter language is S3 Vectors': ``$eq $ne $gt $gte $lt $lte $in $nin $exists $and $or`` and plain
``{"key": value}`` equality. Errors are moto's (``ValidationException``, ``NotFoundException``).

moto's CloudFormation creates no S3 Vectors resource (it reports the stack complete all the same), so
:func:`create_resources` creates the template's bucket and indexes in moto after the stack is up.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

_installed = False
_lock = threading.Lock()


def _matches(metadata: dict[str, Any], flt: Any) -> bool:
    if not isinstance(flt, dict):
        raise ValueError("a filter is an object")
    for key, cond in flt.items():
        if key == "$and":
            if not all(_matches(metadata, c) for c in cond):
                return False
        elif key == "$or":
            if not any(_matches(metadata, c) for c in cond):
                return False
        elif key.startswith("$"):
            raise ValueError(f"unknown filter operator {key}")
        elif isinstance(cond, dict) and cond and all(k.startswith("$") for k in cond):
            if not all(_compare(metadata, key, op, v) for op, v in cond.items()):
                return False
        elif metadata.get(key) != cond:
            return False
    return True


def _compare(metadata: dict[str, Any], key: str, op: str, value: Any) -> bool:
    present = key in metadata
    have = metadata.get(key)
    if op == "$exists":
        return present == bool(value)
    if op == "$eq":
        return present and have == value
    if op == "$ne":
        return not present or have != value
    if op == "$in":
        return present and have in value
    if op == "$nin":
        return not present or have not in value
    if not present or not isinstance(have, int | float) or isinstance(have, bool):
        return False
    if op == "$gt":
        return bool(have > value)
    if op == "$gte":
        return bool(have >= value)
    if op == "$lt":
        return bool(have < value)
    if op == "$lte":
        return bool(have <= value)
    raise ValueError(f"unknown filter operator {op}")


class _Rows:
    """An index's vectors as float32 rows, and their matrix (rebuilt after a write)."""

    def __init__(self) -> None:
        self.rows: dict[str, Any] = {}
        self.matrix: Any = None
        self.keys: list[str] = []

    def put(self, key: str, values: list[float]) -> None:
        import numpy as np

        row = np.asarray(values, dtype=np.float32)
        norm = float(np.linalg.norm(row))
        self.rows[key] = row / norm if norm else row
        self.matrix = None

    def delete(self, key: str) -> None:
        if self.rows.pop(key, None) is not None:
            self.matrix = None

    def similarities(self, query: Any) -> tuple[list[str], Any]:
        import numpy as np

        if self.matrix is None:
            self.keys = list(self.rows)
            self.matrix = np.stack([self.rows[k] for k in self.keys]) if self.keys else np.zeros((0, 1))
        if not self.keys:
            return [], np.zeros(0)
        return self.keys, self.matrix @ query


def _approximate(query: list[float]) -> Any:
    """Which vectors this query misses: none, or (AWS-strict ``vectors``) a share ``1 - recall`` of
    them, the same ones for the same query (a hash of the query and the key), as an approximate index
    misses some true neighbours of each query."""
    from infra.local import strict

    settings = strict.current()
    if not settings.on("vectors") or settings.vector_recall >= 1:
        return lambda key: False
    import hashlib
    import struct

    seed = hashlib.sha256(struct.pack(f"<{len(query)}f", *query)).digest()[:8]
    cut = int(settings.vector_recall * 2**32)

    def missed(key: str) -> bool:
        digest = hashlib.sha256(seed + key.encode()).digest()
        return int.from_bytes(digest[:4], "big") >= cut

    return missed


def _rows(index: Any) -> _Rows:
    rows = getattr(index, "_one_rows", None)
    if rows is None:
        rows = _Rows()
        index._one_rows = rows
    return rows


def install() -> None:
    """Add QueryVectors to moto's S3 Vectors, and keep each index's rows beside moto's vectors."""
    global _installed  # noqa: PLW0603
    with _lock:
        if _installed:
            return
        _installed = True
    import numpy as np
    from moto.core.common_models import BaseModel
    from moto.core.responses import ActionResult
    from moto.s3vectors import urls
    from moto.s3vectors.exceptions import ValidationError
    from moto.s3vectors.models import S3VectorsBackend
    from moto.s3vectors.responses import S3VectorsResponse

    class _Stored(BaseModel):
        """A vector kept as float32 (``data`` as moto's callers expect it, built when asked)."""

        def __init__(self, key: str, row: Any, metadata: Any) -> None:
            self.key, self._row, self.metadata = key, row, metadata

        @property
        def data(self) -> dict[str, list[float]]:
            return {"float32": [float(x) for x in self._row]}

    original_put = S3VectorsBackend.put_vectors
    original_delete = S3VectorsBackend.delete_vectors

    def put_vectors(
        self: Any, vector_bucket_name: str, index_name: str, index_arn: str, vectors: list[Any]
    ) -> None:
        original_put(self, vector_bucket_name, index_name, index_arn, vectors)
        index = self.get_index(vector_bucket_name, index_name=index_name, index_arn=index_arn)
        rows = _rows(index)
        for vector in vectors:
            values = vector["data"]["float32"]
            if not all(isinstance(v, int | float) and np.isfinite(v) for v in values):
                raise ValidationError("Invalid vector data: components must be finite numbers")
            rows.put(vector["key"], values)
            index.vectors[vector["key"]] = _Stored(
                vector["key"], np.asarray(values, dtype=np.float32), vector.get("metadata") or {}
            )

    def delete_vectors(
        self: Any, vector_bucket_name: str, index_name: str, index_arn: str, keys: list[str]
    ) -> None:
        original_delete(self, vector_bucket_name, index_name, index_arn, keys)
        index = self.get_index(vector_bucket_name, index_name=index_name, index_arn=index_arn)
        for key in keys:
            _rows(index).delete(key)

    def query_vectors(
        self: Any,
        vector_bucket_name: str,
        index_name: str,
        index_arn: str,
        *,
        query_vector: Any,
        top_k: int,
        flt: Any,
    ) -> list[tuple[str, float, Any]]:
        index = self.get_index(vector_bucket_name, index_name=index_name, index_arn=index_arn)
        if not isinstance(top_k, int) or isinstance(top_k, bool) or not 1 <= top_k <= 100:
            raise ValidationError("topK must be between 1 and 100")
        values = (query_vector or {}).get("float32")
        if not isinstance(values, list) or len(values) != index.dimension:
            raise ValidationError(
                f"Query vector has {len(values) if isinstance(values, list) else 0} dimensions; "
                f"the index has {index.dimension}"
            )
        query = np.asarray(values, dtype=np.float32)
        norm = float(np.linalg.norm(query))
        if not np.isfinite(norm) or norm == 0:
            raise ValidationError("Query vector must be non-zero and finite")
        keys, sims = _rows(index).similarities(query / norm)
        order = np.argsort(-sims, kind="stable")
        missed = _approximate(values)
        out: list[tuple[str, float, Any]] = []
        try:
            for i in order:
                stored = index.vectors.get(keys[i])
                if stored is None or missed(keys[i]):
                    continue
                if flt is not None and not _matches(stored.metadata or {}, flt):
                    continue
                out.append((keys[i], float(1.0 - sims[i]), stored.metadata))
                if len(out) >= top_k:
                    break
        except ValueError as exc:
            raise ValidationError(f"Invalid filter: {exc}") from None
        return out

    def respond_query_vectors(self: Any) -> Any:
        index_arn = self._get_param("indexArn")
        index_name = self._get_param("indexName")
        bucket = self._get_param("vectorBucketName")
        self._validate_index_params(index_arn, index_name, bucket)
        hits = self.s3vectors_backend.query_vectors(
            vector_bucket_name=bucket,
            index_name=index_name,
            index_arn=index_arn,
            query_vector=self._get_param("queryVector"),
            top_k=self._get_param("topK"),
            flt=self._get_param("filter"),
        )
        return_metadata = self._get_bool_param("returnMetadata", False)
        return_distance = self._get_bool_param("returnDistance", False)
        vectors = []
        for key, distance, metadata in hits:
            v: dict[str, Any] = {"key": key}
            if return_distance:
                v["distance"] = distance
            if return_metadata:
                v["metadata"] = metadata
            vectors.append(v)
        return ActionResult({"vectors": vectors, "distanceMetric": "cosine"})

    S3VectorsBackend.put_vectors = put_vectors  # type: ignore[method-assign]
    S3VectorsBackend.delete_vectors = delete_vectors  # type: ignore[method-assign]
    S3VectorsBackend.query_vectors = query_vectors  # type: ignore[attr-defined]
    S3VectorsResponse.query_vectors = respond_query_vectors  # type: ignore[attr-defined]
    urls.url_paths["{0}/QueryVectors$"] = S3VectorsResponse.dispatch


def create_resources(
    client: Any, template: dict[str, Any], stack_name: str, *, dimensions: int | None = None
) -> dict[str, str]:
    """The template's vector bucket and indexes, in moto (logical id → ARN; ``dimensions``: instead of
    the template's default). Idempotent."""
    resources = template["Resources"]
    out: dict[str, str] = {}
    bucket_name = f"{stack_name}-vectors".lower()
    for logical, res in resources.items():
        if res.get("Type") == "AWS::S3Vectors::VectorBucket":
            with contextlib.suppress(client.exceptions.ConflictException):
                client.create_vector_bucket(vectorBucketName=bucket_name)
            out[logical] = client.get_vector_bucket(vectorBucketName=bucket_name)["vectorBucket"][
                "vectorBucketArn"
            ]
    for logical, res in resources.items():
        if res.get("Type") != "AWS::S3Vectors::Index":
            continue
        props = res["Properties"]
        dimension = props["Dimension"]
        if isinstance(dimension, dict):  # {"Ref": "EmbeddingDimensions"}
            dimension = dimensions or int(template["Parameters"][dimension["Ref"]]["Default"])
        name = props["IndexName"]
        existing = {
            i["indexName"] for i in client.list_indexes(vectorBucketName=bucket_name).get("indexes", [])
        }
        if name not in existing:  # a second CreateIndex of the name would drop its vectors (moto)
            client.create_index(
                vectorBucketName=bucket_name,
                indexName=name,
                dataType=props["DataType"],
                dimension=int(dimension),
                distanceMetric=props["DistanceMetric"],
            )
        out[logical] = client.get_index(vectorBucketName=bucket_name, indexName=name)["index"]["indexArn"]
    return out


@contextlib.contextmanager
def local_vectors(dimensions: int, stack_name: str) -> Any:
    """In process, on moto (inside ``mock_aws`` or the tests' ``aws`` fixture): the template's vector
    bucket and indexes made with ``dimensions``, and the platform pointed at them until the block ends."""
    import boto3

    from infra.template.document import load_template
    from ontology.aws import reset_clients
    from ontology.settings import configure

    made = create_resources(
        boto3.client("s3vectors", region_name="us-east-1"), load_template(), stack_name, dimensions=dimensions
    )
    configure(vector_bucket_arn=made["VectorBucket"], embedding_dimensions=dimensions)
    reset_clients()
    try:
        yield made
    finally:
        configure(vector_bucket_arn="", embedding_dimensions=1536)
        reset_clients()
