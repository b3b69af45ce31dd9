"""The concurrent page engine: many requests in flight, pages handed over strictly in order.

`Engine` reads listings of any `Source` (the tap's streams implement it); it knows nothing of
the SDK or of lgfapi beyond the `Page` a source returns.
"""

from tap_oracle_wms.engine.prefetch import BUFFER_PAGES, Engine, LinkLoopError
from tap_oracle_wms.engine.source import Page, PageMissingError, Resume, Source
from tap_oracle_wms.lgfapi.throttle import EngineStoppedError, Slot, Throttle

__all__ = [
    "BUFFER_PAGES",
    "Engine",
    "EngineStoppedError",
    "LinkLoopError",
    "Page",
    "PageMissingError",
    "Resume",
    "Slot",
    "Source",
    "Throttle",
]
