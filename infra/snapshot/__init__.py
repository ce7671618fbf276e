"""Convex's snapshot format in and out: ``one import`` and ``one export`` (docs/import-export.md).

An operator's tool, never loaded by a function: :mod:`values` (the export JSON), :mod:`ids` (Convex's
document ids), :mod:`archive` (the ZIP and single-table files), :mod:`importer`, :mod:`exporter`,
:mod:`target` (the stack and organization), :mod:`command` (the CLI).
"""
