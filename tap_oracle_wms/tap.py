"""TapOracleWMS: settings, and the streams discovered from the tenant's metadata."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from singer_sdk import RESTStream, Tap
from singer_sdk import typing as th
from typing_extensions import override

from tap_oracle_wms import discovery, pages
from tap_oracle_wms.cli import run_cli
from tap_oracle_wms.client import SyncRun, WMSStream
from tap_oracle_wms.config import check_entity_selection, validate_settings
from tap_oracle_wms.output import BufferedMsgSpecWriter
from tap_oracle_wms.redaction import register_secrets
from tap_oracle_wms.streams import CORE_STREAMS, SPECIAL_STREAMS

if TYPE_CHECKING:
    from singer_sdk.streams import Stream

LGFAPI_SCOPE = "urn:resource:fusion:scm:logistics:wms:lgfapi/"
STRING_LIST = th.ArrayType(th.StringType)


class TapOracleWMS(Tap):
    """Singer tap for Oracle WMS Cloud (lgfapi v10 entity API)."""

    name = "tap-oracle-wms"
    package_name = "tap-oracle-wms"
    message_writer_class = BufferedMsgSpecWriter

    config_jsonschema = th.PropertiesList(
        th.Property(
            "base_url",
            th.URIType,
            required=True,
            title="Tenant environment URL",
            description="The WMS environment URL, e.g. https://xx.wms.ocs.oraclecloud.com/myenv "
            "(everything before /wms/lgfapi). https only, except for loopback hosts.",
        ),
        th.Property(
            "api_version", th.StringType, default="v10", description="lgfapi version segment of the URL."
        ),
        th.Property(
            "auth_method",
            th.StringType,
            default="basic",
            allowed_values=["basic", "oauth2"],
            description="basic: WMS API user and password; oauth2: IDCS client credentials.",
        ),
        th.Property("username", th.StringType, description="WMS API user (auth_method=basic)."),
        th.Property(
            "password",
            th.StringType,
            secret=True,
            description="Password of the WMS API user (auth_method=basic).",
        ),
        th.Property(
            "oauth_client_id",
            th.StringType,
            description="IDCS confidential application client id (auth_method=oauth2).",
        ),
        th.Property(
            "oauth_client_secret",
            th.StringType,
            secret=True,
            description="IDCS confidential application client secret (auth_method=oauth2).",
        ),
        th.Property(
            "oauth_token_url",
            th.URIType,
            description="Token endpoint, e.g. https://idcs-<id>.identity.oraclecloud.com/oauth2/v1/token.",
        ),
        th.Property(
            "oauth_scope",
            th.StringType,
            default=LGFAPI_SCOPE,
            description="OAuth2 scope of the lgfapi resource.",
        ),
        th.Property(
            "start_date",
            th.DateTimeType,
            description="Earliest mod_ts to extract on the first run (ISO-8601; UTC if no offset). "
            "Empty: all history.",
        ),
        th.Property(
            "page_size",
            th.IntegerType,
            default=1250,
            description="Rows per page, 1..1250 (the API's maximum).",
        ),
        th.Property(
            "request_timeout",
            th.IntegerType,
            default=120,
            description="Seconds to wait for one HTTP response before retrying.",
        ),
        th.Property(
            "max_retries",
            th.IntegerType,
            default=8,
            description="Retries of a failed request (5xx, 429, 409, timeouts, dropped "
            "connections) before the sync fails.",
        ),
        th.Property(
            "facility_codes",
            STRING_LIST,
            default=[],
            description="Only rows of these facility codes (entities with facility_id).",
        ),
        th.Property(
            "company_codes",
            STRING_LIST,
            default=[],
            description="Only rows of these company codes (entities with company_id).",
        ),
        th.Property(
            "stream_filters",
            th.ObjectType(additional_properties=th.ObjectType()),
            default={},
            description='Extra lgfapi filters per stream, e.g. {"order_hdr": {"status_id__lt": 90}}.',
        ),
        th.Property(
            "lookback_seconds",
            th.IntegerType,
            default=300,
            description="Incremental runs re-read this many seconds before the bookmark, for "
            "rows committed late with an older mod_ts.",
        ),
        th.Property(
            "sequenced_ordering",
            th.StringType,
            default="auto",
            allowed_values=["auto", "honoured", "ignored"],
            description="Whether the tenant keeps ordering=mod_ts,id in sequenced mode. auto "
            "probes once per run; honoured makes incremental syncs resumable mid-stream.",
        ),
        th.Property(
            "include_fk_keys",
            th.BooleanType,
            default=False,
            description="Also emit <fk>_key columns with the related object's key.",
        ),
        th.Property(
            "include_set_links",
            th.BooleanType,
            default=False,
            description="Keep *_set reverse-relation link objects.",
        ),
        th.Property(
            "entities_include",
            STRING_LIST,
            default=["*"],
            description="Glob patterns of entities to discover (default: all).",
        ),
        th.Property(
            "entities_exclude",
            STRING_LIST,
            default=[],
            description="Glob patterns of entities to leave out of discovery.",
        ),
        th.Property(
            "describe_concurrency",
            th.IntegerType,
            default=8,
            description="Describe calls in flight during discovery.",
        ),
        th.Property(
            "discovery_cache_ttl",
            th.IntegerType,
            default=0,
            description="Seconds to reuse describe results cached on disk (0: off).",
        ),
        th.Property(
            "discovery_cache_dir",
            th.StringType,
            description="Where the describe cache lives (default: the system temp dir).",
        ),
        th.Property(
            "concurrency",
            th.IntegerType,
            default=4,
            description="Requests in flight at once across streams (backs off on 429).",
        ),
        th.Property(
            "inventory_history_status_ids",
            th.ArrayType(th.IntegerType),
            default=[],
            description="Status ids to extract inventory_history for: the API needs facility, "
            "company, history activity and status on every list call. Empty: the stream is skipped.",
        ),
        th.Property(
            "emit_activate_version_messages",
            th.BooleanType,
            default=False,
            description="Send ACTIVATE_VERSION on FULL_TABLE syncs so a target with hard_delete "
            "drops rows deleted at the source (use with a weekly full sync).",
        ),
        th.Property(
            "ca_bundle",
            th.StringType,
            description="Path to a CA bundle for TLS verification (verification is always on).",
        ),
        th.Property(
            "allow_insecure_http",
            th.BooleanType,
            default=False,
            description="Allow http:// base_url on non-loopback hosts (credentials in clear!).",
        ),
        th.Property(
            "tenant_timezone",
            th.StringType,
            default="UTC",
            description="Zone of naive date-times the API may send (the API user's facility zone).",
        ),
        th.Property(
            "strict_schema",
            th.BooleanType,
            default=False,
            description="Stop the sync on a record that breaks the catalog schema (a value of the "
            "wrong type, a null id). Off: such a value is coerced without loss or emitted as null, "
            "and a record without id is skipped, each with a warning.",
        ),
    ).to_dict()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.run = SyncRun()
        super().__init__(*args, **kwargs)

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """Schema and rules in one pass, each error naming a setting; secrets noted for redaction.

        Every config passes here first, so this is where its secret values are registered.
        """
        register_secrets(self._config)
        schema = self.config_jsonschema
        self.append_builtin_config(schema)
        return validate_settings(self._config, schema, raise_errors=raise_errors, logger=self.logger)

    @override
    def discover_streams(self) -> list[Stream]:
        if self.input_catalog is not None:
            return self.streams_from_catalog()
        return self.streams_from_tenant()

    @override
    def sync_all(self) -> None:
        """The SDK's sync, with pages prefetched in background threads (tap_oracle_wms.pages).

        The prefetcher and its threads end with the sync, however it ends (an error, a
        record limit); buffered output is flushed so no emitted record is lost.
        """
        # Only streams read as one listing are queued ahead; asking for `partitions` may do I/O.
        upcoming = [
            s
            for s in self.streams.values()
            if isinstance(s, WMSStream)
            and s.selected
            and not s.parent_stream_type
            and type(s).partitions is RESTStream.partitions
        ]
        pages.start(self.run, self.config["concurrency"], self.config["page_size"], upcoming)
        try:
            super().sync_all()
        finally:
            pages.stop(self.run)
            flush = getattr(self.message_writer, "flush", None)
            if flush is not None:
                flush()

    def streams_from_catalog(self) -> list[Stream]:
        """A sync with --catalog: build streams from it, no describe round trips."""
        assert self.input_catalog is not None
        return [
            self.make_stream(entry.tap_stream_id, entry.schema.to_dict())
            for entry in self.input_catalog.values()
        ]

    def streams_from_tenant(self) -> list[Stream]:
        """Discovery: the tenant's entity catalog, filtered by settings, each described."""
        reader = WMSStream(self, name="entity", schema={"properties": {}}, run=self.run)
        names = discovery.catalog_entity_names(reader.fetch_json("entity/"))
        check_entity_selection(names, self.config["entities_include"], self.config["entities_exclude"])
        wanted = discovery.select_entities(
            names, self.config["entities_include"], self.config["entities_exclude"]
        )
        describes = discovery.describe_entities(self.config, reader, wanted)
        return [
            self.make_stream(
                name,
                discovery.describe_to_schema(
                    payload,
                    entity=name,
                    include_fk_keys=self.config["include_fk_keys"],
                    include_set_links=self.config["include_set_links"],
                ),
            )
            for name, payload in sorted(describes.items())
        ]

    def make_stream(self, name: str, schema: dict[str, Any]) -> WMSStream:
        """A core stream class where there is one, else the generic entity stream."""
        classes = (*CORE_STREAMS, *SPECIAL_STREAMS)
        cls = next((c for c in classes if c.name == name), discovery.EntityStream)
        stream = cls(self, name=name, schema=schema, run=self.run)
        if stream.replication_key not in schema.get("properties", {}):
            stream.replication_key = None  # lookup tables have no mod_ts: full table
            stream.forced_replication_method = "FULL_TABLE"
        return stream


def main() -> None:
    """Console entry point: the SDK's CLI, with bad input and failures shown as one line."""
    run_cli(TapOracleWMS)


if __name__ == "__main__":
    main()
