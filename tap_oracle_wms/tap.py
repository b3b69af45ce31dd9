"""TapOracleWMS: checked settings, the streams the tenant's metadata describes, and one run's lifecycle."""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any

import click
from singer_sdk import Stream, Tap
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.tap_base import CliTestOptionValue
from typing_extensions import override

from tap_oracle_wms import discovery, drift_check
from tap_oracle_wms.inputs import InputFileError, unwrap_state
from tap_oracle_wms.lgfapi.secrets import register_secrets
from tap_oracle_wms.lgfapi.wire import catalog_entity_names
from tap_oracle_wms.output import BufferedMsgSpecWriter, Writing
from tap_oracle_wms.row_counts import NAME as ROW_COUNTS
from tap_oracle_wms.row_counts import RowCountStream
from tap_oracle_wms.run import SyncRun
from tap_oracle_wms.settings import SETTINGS
from tap_oracle_wms.settings_checks import (
    SettingsError,
    catalog_name_errors,
    check,
    entity_selection_errors,
    ignored_auth_settings,
    matches,
    rule_errors,
)
from tap_oracle_wms.streams import CORE_ENTITIES, EntityStream, stream_class

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import PurePath
    from types import FrameType

    from singer_sdk.io_base import GenericSingerWriter
    from singer_sdk.singerlib import Catalog


class Interrupted(BaseException):
    """SIGTERM or SIGINT: a sync writes its last STATE, then the run exits 128+signal.

    Not an Exception, so no `except Exception` on the way out (the SDK's "An unhandled error
    occurred" among them) mistakes it for a failure.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum
        self.state_written = False  # a sync sets it once the STATE of every record emitted is out


class _Signals:
    """SIGTERM/SIGINT raise `Interrupted` in the main thread, once: later signals find it stopping.

    Installed for the whole command (discovery, the sync, its shutdown), replacing the SDK's
    handler, which exits 0 with an empty STATE wherever it lands. A second signal while the run
    stops, or a signal after a fatal error, must not replace the first verdict (cli.py).
    """

    stopping = False

    @classmethod
    def install(cls) -> None:
        """Take SIGTERM and SIGINT (main thread only: Python delivers signals there)."""
        if threading.current_thread() is threading.main_thread():
            cls.stopping = False
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, cls.interrupt)

    @classmethod
    def interrupt(cls, signum: int, frame: FrameType | None) -> None:
        """The first signal ends the run; the ones after it change nothing."""
        if cls.stopping:
            return
        if Writing.active:  # raised once the write's byte count is kept (output.py)
            Writing.pending = lambda: cls.interrupt(signum, frame)
            return
        cls.stopping = True
        raise Interrupted(signum)

    @classmethod
    def stop(cls) -> None:
        """The run is ending anyway (an error is being reported): signals change nothing now.

        Ignored, not just handled: while the interpreter shuts down it would restore the
        default action, and a signal then would kill the process with no line and no code.
        """
        cls.stopping = True
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, signal.SIG_IGN)


def handle_signals() -> None:
    """SIGTERM/SIGINT end the command with `Interrupted` from now on (see _Signals)."""
    _Signals.install()


def ignore_signals() -> None:
    """The command is ending with its verdict: later signals change nothing."""
    _Signals.stop()


class _UnsortedWarning(logging.Filter):
    """Drops two SDK warnings that name no stream and that the tap's own lines say with its name.

    "Stream is assumed to be unsorted": each stream's start line says whether it resumes
    mid-stream, from the same `is_sorted` the SDK reads (streams.py plan_text). "New replication
    value is null" (once per such record): the record shaper warns once per stream, naming a
    record, for a mod_ts that was null or unparsable (records.py).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(
            ("Stream is assumed to be unsorted", "New replication value is null")
        )


UNSORTED_WARNING = _UnsortedWarning()


class TapOracleWMS(Tap):
    """Singer tap for Oracle WMS Cloud (lgfapi v10 entity API)."""

    name = "tap-oracle-wms"
    package_name = "tap-oracle-wms"
    message_writer_class = BufferedMsgSpecWriter
    config_jsonschema = SETTINGS
    # The catalog comes from the tenant, so discovery checks the settings first, as a sync does.
    dynamic_catalog = True

    def __init__(
        self,
        *,
        config: dict[str, Any] | PurePath | str | list[PurePath | str] | None = None,
        catalog: PurePath | str | dict[str, Any] | Catalog | None = None,
        state: PurePath | str | dict[str, Any] | None = None,
        parse_env_config: bool = False,
        validate_config: bool = True,
        setup_mapper: bool = True,
        message_writer: GenericSingerWriter | None = None,
    ) -> None:
        """The SDK's constructor; then every setting is checked before any stream can send a request.

        The mapper (which builds the streams, and so discovers) is set up only after the checks.
        """
        if isinstance(config, dict):  # an unset value is absent, so its default applies
            config = {k: v for k, v in config.items() if v is not None}
        try:
            super().__init__(
                config=config,
                catalog=catalog,
                state=state,
                parse_env_config=parse_env_config,
                validate_config=validate_config,
                setup_mapper=False,
                message_writer=message_writer,
            )
        except ConfigValidationError:
            # The SDK keeps the merged config before it validates: word its verdict per setting.
            register_secrets(self.config)
            raise SettingsError(check(dict(self.config), self.config_jsonschema)) from None
        register_secrets(self.config)
        handle_signals()  # after the SDK's constructor, which installs its own handler
        logging.getLogger("singer_sdk").addFilter(UNSORTED_WARNING)  # said per stream instead
        # The SDK sets its metrics logger to the plugin's log level; the setting decides instead.
        self.metrics_logger.setLevel(self.config.get("metrics_log_level", "WARNING"))
        if validate_config and (errors := rule_errors(self.config)):
            raise SettingsError(errors)
        writer = self.message_writer if isinstance(self.message_writer, BufferedMsgSpecWriter) else None
        self.run = SyncRun(self.config, writer=writer)
        if setup_mapper:
            self.setup_mapper()

    @override
    def discover_streams(self) -> list[Stream]:
        if self.input_catalog is not None:
            return self.streams_from_catalog()
        return self.streams_from_tenant()

    def streams_from_catalog(self) -> list[Stream]:
        """A sync with --catalog: build streams from it, no describe round trips."""
        assert self.input_catalog is not None
        if errors := catalog_name_errors(self.input_catalog):
            raise InputFileError([f"--catalog: {error}" for error in errors])
        return [
            self.row_counts()
            if entry.tap_stream_id == ROW_COUNTS
            else self.make_stream(entry.tap_stream_id, entry.schema.to_dict())
            for entry in self.input_catalog.values()
        ]

    def row_counts(self) -> RowCountStream:
        """The reconciliation stream, counting every other selected stream read as one listing."""
        return RowCountStream(self, self.run, self.counted_streams)

    def streams_from_tenant(self) -> list[Stream]:
        """Discovery: one stream per selected entity of the tenant's catalog, typed from its describe."""
        client = self.run.client
        try:
            names = catalog_entity_names(client.get_json("entity/"))
            include, exclude = self.config["entities_include"], self.config["entities_exclude"]
            if errors := entity_selection_errors(names, include, exclude):
                raise SettingsError(errors)
            wanted = [name for name in names if matches(name, include, exclude)]
            describes = discovery.describe_entities(self.config, client.get_json, wanted)
        finally:
            client.release_connections()  # a tap built only to discover keeps no socket open
        entities: list[Stream] = [
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
        return [*entities, self.row_counts()]

    def make_stream(self, name: str, schema: dict[str, Any]) -> EntityStream:
        """The entity's stream; lookup tables without mod_ts are read whole (FULL_TABLE).

        Selected by default: the eight core entities and those named in entities_include
        without a glob; every other entity is discovered, for users to select (README).
        """
        stream = stream_class(name)(self, name=name, schema=schema, run=self.run)
        stream.selected_by_default = name in CORE_ENTITIES or name in self.config["entities_include"]
        if stream.replication_key not in schema.get("properties", {}):
            stream.replication_key = None
            stream.forced_replication_method = "FULL_TABLE"
        return stream

    def selected_streams(self) -> list[EntityStream]:
        """The entity streams the sync reads, in the order the SDK syncs them."""
        return [
            s
            for s in self.streams.values()
            if isinstance(s, EntityStream) and s.selected and not s.parent_stream_type
        ]

    @property
    def selected_count(self) -> int:
        """How many streams the run reads (entity streams and wms_row_counts), for its verdict."""
        return sum(1 for s in self.streams.values() if s.selected)

    def counted_streams(self) -> list[EntityStream]:
        """Streams wms_row_counts counts: selected, read as one listing (no partitions)."""
        return [s for s in self.selected_streams() if type(s).partitions is Stream.partitions]

    # --- one run ------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Before the sync: partitions listed, the ordering probe and the engine's read-ahead started.

        Each selected stream says what its listing's first page asks (a bad bookmark stops the run
        here, before any request); the drift check counts every incremental stream's recent hours
        (drift.py) before any page is read; the engine plans the first listings (ordering, first
        page, count, key ranges) while the SDK starts the first stream.
        """
        if ignored := ignored_auth_settings(self.config):
            self.logger.info(
                "auth_method=%s: %s ignored (the other method's settings)",
                self.config.get("auth_method", "basic"),
                ", ".join(ignored),
            )
        streams = self.selected_streams()
        ahead = [planned for stream in streams if (planned := stream.prepare()) is not None]
        checked = [s for s in self.counted_streams() if s.incremental and s.replication_key == "mod_ts"]
        concurrency = int(self.config["concurrency"])
        drift_check.take_counts([s for s in checked if drift_check.plan(s).to_count], concurrency)
        probing = next((s for s in streams if s.listing.probe_filters is not None), None)
        if probing is not None:
            self.run.client.probe.start(probing.name, probing.listing.probe_rows)
        self.run.engine.prepare(ahead)

    def sync_run(self) -> None:
        """`sync_all` within a run's edges: signals end it with STATE, the engine stops, output is flushed."""
        try:
            self.prepare()
            self.sync_all()
            self.run.raise_failures(self.selected_count)
        except Interrupted as stopped:
            if self.run.writer is not None:
                self.run.writer.discard_partial()
            # Bookmarks of every record emitted so far. With BATCH output the records read since
            # the last file are in no file: the STATE written after that file stays the last.
            if not self.config.get("batch_config"):
                self.state_writer.write_state(self.state)
            stopped.state_written = True
            raise
        finally:
            self.finish()

    def finish(self) -> None:
        """The run is over: the engine's workers end, connections close, output is written, a summary."""
        self.run.close()
        self.run.progress.summary()
        if self.run.writer is not None:
            self.run.writer.flush()

    @override
    @classmethod
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: Any = None,
        state: Any = None,
        catalog: Any = None,
    ) -> None:
        """The SDK's `invoke`, syncing through `sync_run` so a run ends the same way every time."""
        if about:
            cls.print_about(about_format)
            sys.exit(0)
        tap = cls.from_cli(
            config,
            state=None if state is None else unwrap_state(json.loads(state.read())),
            catalog=None if catalog is None else json.loads(catalog.read()),
        )
        cls.print_version(print_fn=cls.logger.info)
        tap.sync_run()

    @classmethod
    def from_cli(cls, config: Any, **kwargs: Any) -> TapOracleWMS:
        """A tap from the CLI's config input (files merged, maybe ENV), built quietly and checked."""
        with quiet(cls.logger):
            return cls(
                config=dict(getattr(config, "config", None) or {}),
                parse_env_config=bool(getattr(config, "parse_env", False)),
                validate_config=True,
                **kwargs,
            )

    @override
    @classmethod
    def cb_discover(cls, ctx: click.Context, param: click.Option, value: bool) -> None:
        """The SDK's `--discover`, with settings checked (one line on failure) before any request."""
        if not value:
            return
        try:
            tap = cls.from_cli(ctx.params.get("config"), setup_mapper=False)
            try:
                tap.run_discovery()
            finally:
                tap.run.close()
        finally:
            # This eager callback runs while click still parses, so click closes nothing it opened
            # (the --state file Meltano passes) when discovery fails: close them here.
            ctx.close()
        ctx.exit()

    @override
    @classmethod
    def cb_test(cls, ctx: click.Context, param: click.Option, value: str) -> None:
        """The SDK's `--test`: one record per stream; a stream that cannot be read fails the test."""
        if value == CliTestOptionValue.Disabled.value:
            return
        tap = cls.from_cli(ctx.params.get("config"))
        if value == CliTestOptionValue.Schema.value:
            tap.write_schemas()
        else:
            try:
                tap.prepare()
                tap.run_connection_test()
                tap.run.raise_failures(tap.selected_count)
            finally:
                tap.finish()
        ctx.exit()


@contextlib.contextmanager
def quiet(logger: logging.Logger) -> Iterator[None]:
    """Only warnings while a tap is built, so that bad settings print their one line and nothing else."""
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)
