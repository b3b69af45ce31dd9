"""Which stream class reads which entity: the generic entity stream, or one with list rules of its own."""

from __future__ import annotations

import itertools
from functools import cached_property
from typing import TYPE_CHECKING, Any

from typing_extensions import override

from tap_oracle_wms.client import WMSStream

if TYPE_CHECKING:
    from collections.abc import Iterable


# The eight core entities every warehouse team loads (docs/lgfapi.md 5.1). They are ordinary
# entity streams typed from describe like the ~300 others; being core means selected by default.
CORE_ENTITIES: dict[str, str] = {
    "inventory": "Stock on hand per item, LPN and location.",
    "order_hdr": "Outbound (sales) order headers.",
    "order_dtl": "Outbound order lines.",
    "allocation": "Inventory allocated to order lines.",
    "location": "Warehouse locations (active, reserve, dock...).",
    "ib_shipment": "Inbound shipments (ASNs).",
    "wave": "Pick waves.",
    "item": "The item master.",
}


class InventoryHistoryStream(WMSStream):
    """Append-only inventory history: every list call needs facility, company, activity and status.

    docs/lgfapi.md 6.1: one of five filter combinations is mandatory; the tap uses
    company_id__code + facility_id__code + history_activity_id + status_id, one partition each.
    Partition keys are the record's own columns, so the SDK adds nothing to the records.
    """

    name = "inventory_history"
    replication_key = "create_ts"

    @cached_property
    @override
    def partitions(self) -> list[dict[str, Any]] | None:
        statuses = self.config.get("inventory_history_status_ids") or []
        if not statuses:
            return None
        activities = sorted({row["id"] for row in self.list_rows("history_activity", "id")})
        return [
            {"facility_id": f, "company_id": c, "history_activity_id": a, "status_id": s}
            for f, c, a, s in itertools.product(
                sorted(self.codes["facility"]), sorted(self.codes["company"]), activities, statuses
            )
        ]

    @cached_property
    def codes(self) -> dict[str, dict[int, str]]:
        """Facility and company ids to codes, limited to facility_codes/company_codes when set."""
        out: dict[str, dict[int, str]] = {}
        for entity, setting in (("facility", "facility_codes"), ("company", "company_codes")):
            wanted = set(self.config[setting])
            out[entity] = {
                row["id"]: row["code"]
                for row in self.list_rows(entity, "id,code")
                if not wanted or row["code"] in wanted
            }
        return out

    @override
    def get_records(self, context: Any) -> Iterable[dict[str, Any]]:
        if context is None:  # no partitions: the API refuses an unfiltered history list
            self.logger.warning(
                "Stream 'inventory_history' is skipped: set inventory_history_status_ids (and optionally "
                "facility_codes/company_codes); the API refuses unfiltered history lists."
            )
            return
        yield from super().get_records(context)

    @override
    def probe_filters(self) -> dict[str, Any] | None:
        return self.partition_filters(self.partitions[0]) if self.partitions else None

    @override
    def partition_filters(self, context: Any) -> dict[str, Any]:
        if not context:
            return {}
        return {
            "facility_id__code": self.codes["facility"][context["facility_id"]],
            "company_id__code": self.codes["company"][context["company_id"]],
            "history_activity_id": context["history_activity_id"],
            "status_id": context["status_id"],
        }


# Entities whose list rules need more than the generic entity stream.
SPECIAL_STREAMS: dict[str, type[WMSStream]] = {"inventory_history": InventoryHistoryStream}


def stream_class(entity: str) -> type[WMSStream]:
    """The class that reads an entity: every one is a WMSStream unless its list rules differ."""
    return SPECIAL_STREAMS.get(entity, WMSStream)
