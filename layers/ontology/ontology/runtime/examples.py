"""Sample values for the examples of argument models: ids shaped like the platform's, and the first
page of a paginated list. An argument model carries its own example, which the OpenAPI document shows
and ``infra.events`` turns into each function's sample event::

    class GetArgs(Args):
        model_config = ConfigDict(json_schema_extra={"examples": [{"id": ENTITY_ID}]})

        id: EntityId
"""

from __future__ import annotations

from typing import Any

__all__ = ["CONNECTION_ID", "ENTITY_ID", "FIRST_PAGE", "OTHER_ENTITY_ID", "STORAGE_ID"]

ENTITY_ID = "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"
OTHER_ENTITY_ID = "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8S"
CONNECTION_ID = "con_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"
STORAGE_ID = "sto_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"
FIRST_PAGE: dict[str, Any] = {"numItems": 20, "cursor": None}
