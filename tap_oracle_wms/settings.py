"""The tap's settings, declared once: types, defaults, limits and allowed values.

Constraints a JSON Schema can carry live here; rules that tie settings together are in
config.py. `tap-oracle-wms --about` and the README's settings table come from this schema.
"""

from __future__ import annotations

from typing import Any

from singer_sdk import typing as th

LGFAPI_SCOPE = "urn:resource:fusion:scm:logistics:wms:lgfapi/"
MAX_PAGE_SIZE = 1250  # docs/lgfapi.md 2.3
# Threads and sockets per run stay bounded whatever a user types (one per request in flight).
MAX_CONCURRENCY = 32
#: A year: a look-back of 1e14 s put mod_ts__gte before year 1 (an OverflowError mid-run).
LOOKBACK_LIMIT = 366 * 86400
STRING_LIST = th.ArrayType(th.StringType)

SETTINGS: dict[str, Any] = th.PropertiesList(
    th.Property(
        "base_url",
        th.URIType,
        required=True,
        title="Tenant environment URL",
        description="The WMS environment URL, e.g. https://xx.wms.ocs.oraclecloud.com/myenv "
        "(everything before /wms/lgfapi). https only, except for loopback hosts.",
    ),
    th.Property(
        "api_version",
        th.StringType(pattern=r"^v[0-9]+$"),
        default="v10",
        description="lgfapi version segment of the URL.",
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
        th.IntegerType(minimum=1, maximum=MAX_PAGE_SIZE),
        default=1250,
        description="Rows per page, 1..1250 (the API's maximum).",
    ),
    th.Property(
        "request_timeout",
        th.IntegerType(minimum=1, maximum=3600),
        default=120,
        description="Seconds one HTTP response may take in all (headers and body) before it is retried.",
    ),
    th.Property(
        "max_response_mb",
        th.IntegerType(minimum=1, maximum=4096),
        default=256,
        description="Largest HTTP response, in MB, as sent and as decompressed; a larger one fails "
        "its stream (a page of 1,250 rows is a few MB, so a bigger one is no page).",
    ),
    th.Property(
        "max_retries",
        th.IntegerType(minimum=0),
        default=8,
        description="Retries of a failed request (5xx, 429, 409, timeouts, dropped "
        "connections) before the sync fails.",
    ),
    th.Property(
        "max_wait_seconds",
        th.IntegerType(minimum=1),
        default=300,
        description="Longest wait between retries, whatever a Retry-After header asks; a server asking "
        "for more fails the request instead of stalling the run.",
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
        description='Extra lgfapi filters per stream, e.g. {"order_hdr": {"status_id__lt": 90}}; '
        'a list is for __in (sent comma-separated, e.g. {"status_id__in": [10, 90]}) or a __range pair.',
    ),
    th.Property(
        "lookback_seconds",
        th.IntegerType(minimum=0, maximum=LOOKBACK_LIMIT),
        default=300,
        description="Incremental runs re-read this many seconds (at most a year) before the bookmark, for "
        "rows committed late with an older mod_ts.",
    ),
    th.Property(
        "backdated_rows",
        th.BooleanType,
        default=True,
        description="Incremental runs also read rows created since the bookmark whose mod_ts is older "
        "(a second query on create_ts, for entities that have it); only mod_ts moves the bookmark.",
    ),
    th.Property(
        "drift_window_hours",
        th.IntegerType(minimum=0, maximum=168),
        default=24,
        description="Incremental runs keep in STATE the row count of each UTC hour of mod_ts in this many "
        "hours before the bookmark, and read again in full every hour whose count has changed by the next "
        "run (rows changed with an older mod_ts). 0: off.",
    ),
    th.Property(
        "row_count_days",
        th.IntegerType(minimum=1, maximum=366),
        default=7,
        description="Days of mod_ts the wms_row_counts stream counts per UTC day (besides each total).",
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
        "metrics_log_level",
        th.StringType,
        default="WARNING",
        allowed_values=["INFO", "WARNING"],
        description="INFO logs the SDK's METRIC lines (one per request, counters every 60 s); WARNING, "
        "the default, leaves them out: the progress lines and the run summary say what they say.",
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
        th.IntegerType(minimum=1, maximum=MAX_CONCURRENCY),
        default=8,
        description="Describe calls in flight during discovery (halved on each 429 or 503, as pages are).",
    ),
    th.Property(
        "discovery_cache_ttl",
        th.IntegerType(minimum=0),
        default=0,
        description="Seconds to reuse describe results cached on disk (0: off).",
    ),
    th.Property(
        "discovery_cache_dir",
        th.StringType,
        description="Where the describe cache lives (default: $XDG_CACHE_HOME or ~/.cache/tap-oracle-wms, "
        "owner-only).",
    ),
    th.Property(
        "concurrency",
        th.IntegerType(minimum=1, maximum=MAX_CONCURRENCY),
        default=4,
        description=(
            "Requests in flight at once across streams (backs off on 429). At 1 each listing is read "
            "as one chain of pages: no row count, no key ranges."
        ),
    ),
    th.Property(
        "inventory_history_status_ids",
        th.ArrayType(th.IntegerType),
        default=[],
        description="Status ids to extract inventory_history for: the API needs facility, "
        "company, history activity and status on every list call. Empty: a selected inventory_history "
        "fails (exit 1) without a request.",
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
