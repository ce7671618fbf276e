"""The dashboard: the platform's own web console at ``/dashboard/``, one Lambda of its own (its code
here, none of it in any function's package), for an organization's owners and the platform's owners
(docs/dashboard.md)."""
