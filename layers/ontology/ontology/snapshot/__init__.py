"""Convex's snapshot format: what ``one export`` and the scheduled backups write, and ``one import``
reads (docs/import-export.md).

:mod:`values` (the export JSON), :mod:`ids` (Convex's document ids), :mod:`zipstream` (the ZIP
container as Convex's writer streams it), :mod:`archive` (the ZIP and single-table files),
:mod:`org` (an organization's documents, from its own index partitions), :mod:`exporter`. Loaded only
by the operator's commands (``infra/snapshot``) and the backup Lambda (``functions/backups.py``).
"""
