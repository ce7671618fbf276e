"""What the dashboard shows, read once for both of its doors: its HTTP endpoints
(``/dashboard/api/…``) and the platform's system queries (``_system/dashboard:…``) that its pages
subscribe to over the sync protocol. Who may see an organization's dashboard is decided here too
(:func:`authorize`).
"""

from __future__ import annotations

from ontology.services.dashboard.access import authorize
from ontology.services.dashboard.crons import crons, declared
from ontology.services.dashboard.documents import document, documents
from ontology.services.dashboard.files import FILES_PAGE_SIZE, files
from ontology.services.dashboard.run import member_identity, members
from ontology.services.dashboard.scheduled import PAGE_SIZE, STATES, job_row, jobs_of, scheduled

__all__ = [
    "FILES_PAGE_SIZE",
    "PAGE_SIZE",
    "STATES",
    "authorize",
    "crons",
    "declared",
    "document",
    "documents",
    "files",
    "job_row",
    "jobs_of",
    "member_identity",
    "members",
    "scheduled",
]
