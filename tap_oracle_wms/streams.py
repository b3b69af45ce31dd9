"""The eight core entities. Their schemas come from the tenant's `describe`, like every stream."""

from __future__ import annotations

from tap_oracle_wms.client import WMSStream


class InventoryStream(WMSStream):
    """Stock on hand per item, LPN and location."""

    name = "inventory"


class OrderHdrStream(WMSStream):
    """Outbound (sales) order headers."""

    name = "order_hdr"


class OrderDtlStream(WMSStream):
    """Outbound order lines."""

    name = "order_dtl"


class AllocationStream(WMSStream):
    """Inventory allocated to order lines."""

    name = "allocation"


class LocationStream(WMSStream):
    """Warehouse locations (active, reserve, dock...)."""

    name = "location"


class IbShipmentStream(WMSStream):
    """Inbound shipments (ASNs)."""

    name = "ib_shipment"


class WaveStream(WMSStream):
    """Pick waves."""

    name = "wave"


class ItemStream(WMSStream):
    """The item master."""

    name = "item"


CORE_STREAMS: tuple[type[WMSStream], ...] = (
    InventoryStream,
    OrderHdrStream,
    OrderDtlStream,
    AllocationStream,
    LocationStream,
    IbShipmentStream,
    WaveStream,
    ItemStream,
)
