"""Entity streams: Singer adapters over the lgfapi client, and the entities with list rules of their own.

Every entity of the tenant, core or not, is an `EntityStream` typed from its describe. A stream
says what to read (columns, scope, bounds, orderings to try); the run's engine reads its listing
(`lgfapi.paging.Listing`) through the client; the stream keeps the SDK's side: records, their
shape, bookmarks and state.
"""

from __future__ import annotations

import itertools
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

import requests
from singer_sdk import Stream, metrics
from singer_sdk.helpers.conform import TypeConformanceLevel
from typing_extensions import override

from tap_oracle_wms import drift
from tap_oracle_wms.bookmarks import keep_forward, starting_bound
from tap_oracle_wms.lgfapi import query
from tap_oracle_wms.lgfapi.errors import ApiError, RunFatalError, reason
from tap_oracle_wms.lgfapi.paging import Listing, list_rows
from tap_oracle_wms.progress import DropRepeatedStart
from tap_oracle_wms.records import RecordShaper

if TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Context
    from singer_sdk.singerlib import Catalog
    from singer_sdk.tap_base import Tap

    from tap_oracle_wms.run import SyncRun


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


class EntityStream(Stream):
    """One lgfapi entity: listed in sequenced mode, bookmarked on mod_ts, shaped for relational targets."""

    primary_keys: ClassVar[list[str]] = ["id"]
    replication_key: str | None = "mod_ts"
    is_timestamp_replication_key = True

    # A STATE message every this many records (SDK default 10,000): a killed sorted run
    # resumes from its last checkpoint, so it redoes at most this many rows.
    STATE_MSG_FREQUENCY = 1000
    # post_process builds every value to the catalog schema and drops unknown fields, so the
    # SDK's per-value conformance pass (about half the CPU of a sync, measured) is redundant.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    # The run's drift check (drift.py): planned and counted before the sync (drift_check.py).
    drift_plan: drift.Plan = drift.NONE

    def __init__(self, tap: Tap, name: str, schema: dict[str, Any], *, run: SyncRun) -> None:
        super().__init__(tap, schema=schema, name=name)
        self.run = run

    @cached_property
    def listing(self) -> Listing:
        """The entity's listing for the run (built once the catalog has set the replication method)."""
        return Listing(
            self.run.client,
            self.name,
            orderings=self.orderings(),
            replication_key=self.replication_key,
            user_filters=self.config["stream_filters"].get(self.name, {}),
            probe_filters=self.probe_filters(),
            throttle=self.run.engine.throttle,
        )

    def prepare(self) -> tuple[Listing, dict[str, Any]] | None:
        """Before the sync: the listing the engine may read ahead, and its first page's query unordered."""
        return self.listing, self.base_query(None)

    def first_query(self, context: Context | None) -> dict[str, Any]:
        """The first page's query, its ordering the first the entity accepts (asked once a run)."""
        return self.listing.ordered(self.base_query(context))

    def base_query(self, context: Context | None) -> dict[str, Any]:
        """Everything the first page asks but its ordering: columns, scope, filters, bounds, partition."""
        props = self.schema.get("properties", {})
        selected = [name for name in props if self.mask.get(("properties", name), True)]
        keys = [*self.primary_keys, *([self.replication_key] if self.replication_key else [])]
        params: dict[str, Any] = {
            "page_mode": "sequenced",
            "page_size": self.config["page_size"],
            "fields": ",".join(query.requested_fields(props, selected, keys)),
            **query.scope_filters(self.config, props),
            **query.user_filters(self.config, self.name),
        }
        if self.incremental and self.replication_key:
            start, lookback = starting_bound(self, context), self.config["lookback_seconds"]
            params.update(query.bounds(self.replication_key, start, lookback, self.run.started_at))
        params.update(self.partition_filters(context))
        return params

    def orderings(self) -> list[str | None]:
        """Orderings to ask for, preferred first: keyed on the bookmark, by id, then none (2.6)."""
        first = [f"{self.replication_key},id"] if self.incremental else []
        return [*first, "id", None]

    def backdated_params(self, context: Context | None, first: dict[str, Any]) -> dict[str, Any] | None:
        """The second pass's query (docs/lgfapi.md 2.9), or None when it has nothing to catch."""
        rk = self.replication_key
        lower = first.get(f"{rk}__gte")
        props = self.schema.get("properties", {})
        if not (self.config["backdated_rows"] and self.incremental and rk and lower and "create_ts" in props):
            return None
        params = query.backdated_query(first, rk, lower, self.run.started_at)
        return params if "ordering" in first else {k: v for k, v in params.items() if k != "ordering"}

    def probe_filters(self) -> dict[str, Any] | None:
        """Filters an unfiltered list needs (docs/lgfapi.md 6.1); None when it cannot be listed at all."""
        return {}

    def partition_filters(self, context: Context | None) -> dict[str, Any]:
        """The list filters that select one partition; a partition is its filters by default."""
        return dict(context or {})

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """Rows from pages the run's engine fetches ahead, strictly in order; a failure ends this stream only.

        The engine keeps `concurrency` requests in flight (next pages, key ranges, following
        streams) through this stream's listing. Incremental runs read a second pass of
        backdated rows after the first, then the hours whose counts changed (drift.py). An API
        failure that retries cannot mend is recorded and ends this stream only (the run exits
        non-zero at its end, naming it); so does a drift check whose counts could not be taken.
        """
        progress = self.run.progress
        try:
            with metrics.http_request_counter(self.name, endpoint=f"entity/{self.name}/") as counter:
                counter.with_context(context)
                if self.drift_plan.error is not None:
                    raise self.drift_plan.error
                first = self.first_query(context)
                second = self.backdated_params(context, first)
                progress.start(self.name, self.plan_text(first, second))
                limit = self.ABORT_AT_RECORD_COUNT  # --test: end cleanly after that many records
                for params, hours in [(first, None), (second, None), *self.drift_plan.passes(first)]:
                    if params is None:
                        continue
                    for read in self.run.engine.pages(self.listing, params, context):
                        page = self.drift_plan.once(read, backdated=params is second, reread=bool(hours))
                        counter.increment()
                        progress.page(self.name, len(page), second_pass=params is second, reread=bool(hours))
                        if limit is not None and len(page) >= limit:
                            yield from page[:limit]
                            return
                        yield from page
                        limit = None if limit is None else limit - len(page)
                    if hours is not None:
                        self.drift_reread(hours)
        except RunFatalError:
            raise
        except (ApiError, requests.exceptions.RequestException) as exc:
            self.fail(context, exc)
            return
        if not context or (self.partitions and context == self.partitions[-1]):
            progress.end(self.name)
        if not context:
            keep_forward(self)
            self.read_all = True  # with BATCH output, complete once the last file is out (get_batches)
            if self.get_batch_config(self.config) is None:
                self.run.complete([m.stream_alias for m in self.stream_maps])

    @override
    def get_batches(self, batch_config: Any, context: Context | None = None) -> Iterable[Any]:
        """The SDK's batch files, then what ends RECORD output: ACTIVATE_VERSION, then STATE.

        The records end while the SDK still writes the last file, so the release waits for the
        last BATCH message. A stream that failed releases none, as with RECORD output.
        """
        self.read_all = False
        yield from super().get_batches(batch_config, context)
        if self.read_all:
            self.run.complete([m.stream_alias for m in self.stream_maps])
            self.run.write_state(self.tap_state)

    def plan_text(self, first: dict[str, Any], second: dict[str, Any] | None) -> str:
        """What the stream will read, in words, for its start line."""
        rk = self.replication_key
        if not self.incremental or not rk:
            what = "every row (full table)"
        else:
            since = first.get(f"{rk}__gte", "the beginning")
            what = f"rows with {rk} from {since} to {first.get(f'{rk}__lt')}"
            if second is not None:
                what += ", then rows created since then with an older mod_ts (backdated)"
            what += self.drift_plan.plan_text
        order = first.get("ordering")
        what += f", ordered by {order}" if order else ", unordered"
        partitions = self.partitions
        what += f", in {len(partitions)} partitions" if partitions else ""
        if self.incremental and rk:  # what the SDK is told (is_sorted), so the two never disagree
            what += "; resumable mid-stream" if self.is_sorted else "; bookmarked at the stream's end"
        return what

    def fail(self, context: Context | None, exc: BaseException) -> None:
        """End this stream (or partition) for good, without moving a bookmark past unread rows."""
        self.logger.error("Stream '%s' failed and is left for the next run: %s", self.name, reason(exc))
        self.run.fail(self.name, exc)
        # An unsorted stream's bookmark is promoted from progress markers when the stream ends;
        # without them it stays where the run found it (a sorted one is resumable as is).
        self.get_context_state(context).pop("progress_markers", None)

    # --- bookmarks ----------------------------------------------------------------------

    @property
    @override
    def is_sorted(self) -> bool:
        """Resumable mid-stream only when rows come in bookmark order, which is known before reading.

        That needs the keyed ordering accepted by the entity and honoured by the tenant, and no
        second pass nor hours read again (their rows carry older bookmarks). The run's prepare
        step (tap.py) started both questions, the ordering probe and the engine's planning of
        this listing; this waits for their answers. A failure deciding it makes the stream
        unsorted, and fails it when its records are read.
        """
        if not (self.incremental and self.replication_key) or self.probe_filters() is None:
            return False  # nothing to read in order (inventory_history without its status ids)
        context = self.first_context()
        try:
            first = self.first_query(context)
        except Exception:  # the stream fails in get_records, with the same error
            return False
        if not self.run.client.probe.honoured(self.name, self.listing.probe_rows):
            return False
        second = self.backdated_params(context, first) or self.drift_plan.ranges
        return first.get("ordering") == f"{self.replication_key},id" and not second

    def first_context(self) -> Context | None:
        """The context whose first page decides the stream's ordering (None: not partitioned)."""
        return None

    # --- the drift check (drift.py) -------------------------------------------------------

    def drift_reread(self, hours: drift.Bucket) -> None:
        """Hours read again in full: STATE keeps their new counts; the summary names them."""
        self.drift_plan.done(hours)
        self.get_context_state(None)[drift.KEY] = drift.encode(self.drift_plan.baseline)
        self.run.progress.note(self.name, f"re-read {hours.label} (count changed)")

    @property
    @override
    def check_sorted(self) -> bool:
        """Off for sorted runs: they re-read rows older than the bookmark on purpose.

        The lower bound is the bookmark minus lookback_seconds, truncated to the second, so a
        sorted run starts below the input bookmark and the SDK's check (against that bookmark)
        would fail every incremental run. Ordering is verified by the probe instead. Unsorted
        runs keep the check on: with it the SDK keeps the greatest value seen.
        """
        return not self.is_sorted

    @property
    def incremental(self) -> bool:
        """Bounded by mod_ts; a FULL_TABLE sync (e.g. for ACTIVATE_VERSION) reads every row by id."""
        return bool(self.replication_key) and self.replication_method == "INCREMENTAL"

    @override
    def apply_catalog(self, catalog: Catalog) -> None:
        """The SDK's, except that FULL_TABLE forced in the stream's metadata always wins.

        Discovery writes replication_method INCREMENTAL on every entry and the SDK prefers that
        field to the metadata's forced-replication-method, so a catalog forcing a full sync only
        through metadata (a weekly full sync for ACTIVATE_VERSION) would stay incremental.
        """
        super().apply_catalog(catalog)
        entry = catalog.get_stream(self.name)
        root = entry.metadata.get(()) if entry else None
        if getattr(root, "forced_replication_method", None) == "FULL_TABLE":
            self.forced_replication_method = "FULL_TABLE"

    # --- record shaping -------------------------------------------------------------------

    @cached_property
    def shaper(self) -> RecordShaper:
        """Per-field shaping and schema checks derived from the catalog schema (records.py)."""
        return RecordShaper(
            self.name,
            self.schema,
            replication_key=self.replication_key,
            tz=self.run.client.timezone,
            strict=bool(self.config["strict_schema"]),
            logger=self.logger,
        )

    @override
    def generate_child_contexts(self, record: dict, context: Context | None) -> Iterable[Context | None]:
        """No child streams here: skip the SDK's per-record copy and filter made for them."""
        return () if not self.child_streams else super().generate_child_contexts(record, context)

    @override
    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """Shape the decoded row in place to the catalog schema; None skips it (counted, warned)."""
        if (shaped := self.shaper.shape(row)) is None:
            self.run.progress.skipped(self.name)
        return shaped


class InventoryHistoryStream(EntityStream):
    """Append-only inventory history: every list call needs facility, company, activity and status.

    docs/lgfapi.md 6.1: one of five filter combinations is mandatory; the tap uses
    company_id__code + facility_id__code + history_activity_id + status_id, one partition each.
    Partition keys are the record's own columns, so the SDK adds nothing to the records.
    """

    name = "inventory_history"
    replication_key = "create_ts"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        DropRepeatedStart.install(self.logger)  # the SDK would say it once per partition

    @override
    def prepare(self) -> tuple[Listing, dict[str, Any]] | None:
        """Before the sync: the partitions listed (three small listings); read partition by partition."""
        _ = self.partitions
        return None

    @cached_property
    @override
    def partitions(self) -> list[dict[str, Any]] | None:
        """Every facility x company x history activity x status id; listed by the prepare step."""
        statuses = self.config.get("inventory_history_status_ids") or []
        if not statuses:
            return None
        listed = list_rows(self.run.client, "history_activity", "id", self.run.engine.throttle)
        activities = sorted({row["id"] for row in listed})
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
            listed = list_rows(self.run.client, entity, "id,code", self.run.engine.throttle)
            out[entity] = {row["id"]: row["code"] for row in listed if not wanted or row["code"] in wanted}
        return out

    @override
    def get_records(self, context: Any) -> Iterable[dict[str, Any]]:
        if context is None:  # no partitions: the API refuses an unfiltered history list
            msg = (
                "not read: the API refuses unfiltered history lists; set inventory_history_status_ids "
                "(and optionally facility_codes/company_codes), or deselect the stream"
            )
            self.fail(None, ValueError(msg))
            return
        yield from super().get_records(context)

    @override
    def probe_filters(self) -> dict[str, Any] | None:
        return self.partition_filters(self.partitions[0]) if self.partitions else None

    @override
    def first_context(self) -> Context | None:
        return self.partitions[0] if self.partitions else None

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
SPECIAL_STREAMS: dict[str, type[EntityStream]] = {"inventory_history": InventoryHistoryStream}


def stream_class(entity: str) -> type[EntityStream]:
    """The class that reads an entity: an EntityStream unless its list rules differ."""
    return SPECIAL_STREAMS.get(entity, EntityStream)
