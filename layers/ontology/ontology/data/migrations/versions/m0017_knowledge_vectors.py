"""The knowledge chunks' vectors put into S3 Vectors for the documents written before the vector
index existed (or while it was unreachable): a backfill through the table's stream
(:class:`~ontology.data.migrations.backfills.VectorBackfill`). Each knowledge document holding an
embedding of the index's dimensions is stamped once; the stream's vector indexer puts its vector, as
for any write. The table keeps no index over all its documents (its indexes are partitioned by
source and kind), so it is read by a Scan of the table's knowledge items, an operator's read.
"""

from __future__ import annotations

from ontology.data.migrations import scan
from ontology.data.migrations.backfills import VectorBackfill

TABLE = "knowledge"


class KnowledgeVectors(VectorBackfill):
    id = "0017-knowledge-vectors"
    description = "vector index: every knowledge chunk's embedding put into S3 Vectors (via the stream)"
    table = TABLE
    source = scan(TABLE)
