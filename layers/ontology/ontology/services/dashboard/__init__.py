"""What the dashboard shows, read once for both of its doors: its HTTP endpoints
(``/dashboard/api/…``) and the platform's system queries (``_system/dashboard:…``) that its pages
subscribe to over the sync protocol. Who may see an organization's dashboard is decided here too
(:func:`authorize`).
"""

from __future__ import annotations

from ontology.services.dashboard.access import authorize
from ontology.services.dashboard.scheduled import PAGE_SIZE, STATES, job_row, jobs_of, scheduled

__all__ = ["PAGE_SIZE", "STATES", "authorize", "job_row", "jobs_of", "scheduled"]
