"""The concurrent page engine: many requests in flight, pages handed over strictly in order.

`Engine` reads the listings of the lgfapi client (`lgfapi.paging.Listing`); it knows nothing of
the SDK or of streams.
"""

from tap_oracle_wms.engine.prefetch import BUFFER_PAGES, Engine
from tap_oracle_wms.lgfapi.loops import LinkLoopError

__all__ = ["BUFFER_PAGES", "Engine", "LinkLoopError"]
