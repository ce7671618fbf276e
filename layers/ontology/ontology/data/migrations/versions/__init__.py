"""The platform's migrations: one module per migration, ``m<number>_<name>.py``, each declaring one
:class:`~ontology.data.migrations.Migration` subclass whose ``id`` is ``"<number>-<name>"``
(docs/migrations.md). The registry finds them; nothing lists them."""
