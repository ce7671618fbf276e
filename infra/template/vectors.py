"""S3 Vectors: the vector bucket, one index per vector index the schema declares, and the stream
indexer that keeps them in step with the table."""

from __future__ import annotations

import json
from typing import Any

from infra.template.base import table_stream
from ontology.data.schema import TABLES
from ontology.data.vectors import s3_index_name


def _vector_indexes() -> list[tuple[str, str, Any]]:
    """(logical id, S3 Vectors index name, declared index) of every vector index of the schema."""
    out = []
    for t in TABLES.values():
        for idx in t.vector_indexes:
            logical = "".join(part.capitalize() for part in f"{t.name}_{idx.name}".split("_")) + "VectorIndex"
            out.append((logical, s3_index_name(t.name, idx.name), idx))
    return out


#: Every index: functions that use ``vectors`` may query them, the indexer may write them.
VECTOR_INDEX_ARNS = [{"Fn::GetAtt": [logical, "IndexArn"]} for logical, _, _ in _vector_indexes()]
#: Only knowledge documents' writes invoke the indexer (a filter on the stream, not in code).
KNOWLEDGE_FILTER = [
    {"dynamodb": {"NewImage": {"tb": {"S": ["knowledge"]}}}},
    {"dynamodb": {"OldImage": {"tb": {"S": ["knowledge"]}}}},
]


def vector_resources() -> dict[str, Any]:
    """One bucket, one index per declared vector index (cosine), and the stream indexer."""
    resources: dict[str, Any] = {
        "VectorBucket": {
            "Type": "AWS::S3Vectors::VectorBucket",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {"EncryptionConfiguration": {"SseType": "AES256"}},
        }
    }
    for logical, name, idx in _vector_indexes():
        resources[logical] = {
            "Type": "AWS::S3Vectors::Index",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "VectorBucketArn": {"Fn::GetAtt": ["VectorBucket", "VectorBucketArn"]},
                "IndexName": name,
                "DataType": "float32",
                "Dimension": idx.declared_dimensions or {"Ref": "EmbeddingDimensions"},
                "DistanceMetric": "cosine",
            },
        }
    resources["KnowledgeIndexerFunction"] = _indexer()
    return resources


def _indexer() -> dict[str, Any]:
    """The table's stream to S3 Vectors: knowledge documents' vectors put and deleted (the only
    function that may write vectors)."""
    return {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "FunctionName": {"Fn::Sub": "${AWS::StackName}-knowledge-indexer"},
            "Handler": "knowledge.index_vectors",
            "Description": "Knowledge: the table's stream -> S3 Vectors (vectors put and deleted).",
            "MemorySize": 256,
            "Timeout": 60,
            "Events": {
                # one document's vector changes in the order of its writes (one partition key)
                "Knowledge": table_stream(
                    patterns=[json.dumps(p, separators=(",", ":")) for p in KNOWLEDGE_FILTER]
                )
            },
            "Policies": [
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": ["s3vectors:PutVectors", "s3vectors:DeleteVectors"],
                            "Resource": VECTOR_INDEX_ARNS,
                        }
                    ],
                }
            ],
        },
    }
