"""The data layer: the schema as data, ``ctx.db`` on the single DynamoDB table, transactions, and file
storage. It stands on the core modules (errors, settings, aws, secrets) alone: nothing here imports the
runtime, auth, providers or services.

- :mod:`~ontology.data.enums`, :mod:`~ontology.data.fields`, :mod:`~ontology.data.schema`,
  :mod:`~ontology.data.documents` — the six dimensions' tables, field types, indexes, document models;
- :mod:`~ontology.data.keys`, :mod:`~ontology.data.indexes`, :mod:`~ontology.data.cursor` — the key
  encoding, index declarations and signed pagination cursors;
- :mod:`~ontology.data.db` (readers and writers), :mod:`~ontology.data.query` (the query builder),
  :mod:`~ontology.data.filters`, :mod:`~ontology.data.relations`;
- :mod:`~ontology.data.dynamodb`, :mod:`~ontology.data.models`, :mod:`~ontology.data.transaction` — the
  DynamoDB requests, the PynamoDB item model, and ``run_query`` / ``run_mutation``;
- :mod:`~ontology.data.outbox` — scheduled-function documents written inside a transaction;
- :mod:`~ontology.data.storage` — ``ctx.storage`` on S3.
"""
