"""The `Sandbox`: a real uvicorn server in a background thread on 127.0.0.1:<free port>.

Web-stack imports (starlette, uvicorn) happen in `start()`, so importing this module works in a
tap-only install.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

from tap_oracle_wms_sandbox import activity as activity_mod
from tap_oracle_wms_sandbox import listing
from tap_oracle_wms_sandbox.entities import BY_NAME
from tap_oracle_wms_sandbox.state import USERS, RequestLogEntry, SandboxConfig, State

__all__ = ["RequestLogEntry", "Sandbox", "SandboxConfig"]


class Sandbox:
    """Local Oracle WMS Cloud lgfapi v10 emulator (see docs/lgfapi.md section 8)."""

    def __init__(self, config: SandboxConfig | None = None, **knobs: Any) -> None:
        cfg = config or SandboxConfig()
        self.state = State(SandboxConfig(**{**cfg.__dict__, **knobs}))
        self.port = 0
        self.scheme = "https" if self.state.config.tls_certfile else "http"
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Sandbox:
        """Bind the port and serve in a daemon thread; returns when the server accepts."""
        import uvicorn

        from tap_oracle_wms_sandbox.app import create_app

        cfg = self.state.config
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((cfg.host, cfg.port))
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        self.scheme = "https" if cfg.tls_certfile else "http"
        self.state.closing.clear()
        config = uvicorn.Config(
            create_app(self.state),
            log_level="warning",
            access_log=False,
            lifespan="off",
            proxy_headers=False,
            server_header=False,
            timeout_keep_alive=30,
            timeout_graceful_shutdown=2,  # backstop: held answers already end on State.closing
            backlog=512,
            ssl_certfile=cfg.tls_certfile or None,
            ssl_keyfile=cfg.tls_keyfile or None,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._run, args=(sock,), daemon=True, name="wms-sandbox-server"
        )
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("sandbox server did not start")
            time.sleep(0.01)
        return self

    def _run(self, sock: socket.socket) -> None:
        loop: asyncio.AbstractEventLoop
        try:
            import uvloop

            loop = uvloop.new_event_loop()
        except ImportError:
            loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._server.serve(sockets=[sock]))
        finally:
            loop.close()
            sock.close()

    def stop(self) -> None:
        """Stop activity and the server thread."""
        activity_mod.stop(self.state)
        self.state.closing.set()  # slow pages and trickling bodies drop their connections now
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server, self._thread = None, None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- addresses ---------------------------------------------------------------------------
    @property
    def root_url(self) -> str:
        """http://host:port, or https:// when served with a TLS certificate (no path)."""
        return f"{self.scheme}://{self.state.config.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What the tap's base_url setting gets: http://127.0.0.1:PORT/sandbox."""
        return f"{self.root_url}/{self.state.config.env}"

    @property
    def api_url(self) -> str:
        """base_url + /wms/lgfapi/v10/."""
        return f"{self.base_url}/wms/lgfapi/v10/"

    @property
    def token_url(self) -> str:
        """OAuth2 client-credentials token endpoint."""
        return f"{self.root_url}/oauth2/v1/token"

    @property
    def config(self) -> SandboxConfig:
        """The knobs in force."""
        return self.state.config

    # ---- control -----------------------------------------------------------------------------
    def configure(self, **knobs: Any) -> SandboxConfig:
        """Change knobs at run time (names of SandboxConfig fields)."""
        return self.state.configure(**knobs)

    def activity(
        self,
        entity: str = "inventory",
        inserts: int = 5,
        updates: int = 20,
        deletes: int = 2,
        backdate_s: float = 0.0,
        drift_s: float = 0.0,
        ids: list[int] | None = None,
    ) -> dict[str, Any]:
        """One burst; the updated rows share ONE new mod_ts.

        backdate_s > 0: the inserted rows get create_ts = now but a mod_ts that many seconds older
        (a mod_ts bookmark alone misses them); their ids are `backdated_ids`.
        drift_s > 0: the updated rows' new mod_ts is that many seconds in the past (create_ts
        untouched), as a late commit leaves it. `ids`: update these rows instead of random ones.
        """
        return activity_mod.burst(self.state, entity, inserts, updates, deletes, backdate_s, drift_s, ids)

    def start_activity(
        self,
        interval_s: float = 0.05,
        entities: list[str] | None = None,
        inserts: int = 1,
        updates: int = 5,
        deletes: int = 0,
    ) -> None:
        """Continuous bursts in a thread until stop_activity()."""
        activity_mod.start(self.state, interval_s, entities, inserts, updates, deletes)

    def stop_activity(self) -> dict[str, int]:
        """Stop continuous activity; returns totals."""
        return activity_mod.stop(self.state)

    def truth(self, entity: str, user: str = "admin") -> list[dict[str, Any]]:
        """Every row `user` can see, API representation, sorted by id."""
        return listing.truth(self.state, BY_NAME[entity], USERS[user], self.api_url)

    def odd_values(self, entity: str, user: str = "admin") -> list[dict[str, Any]]:
        """The rows of `entity` that send an odd value (knob odd_values): id, field, value sent."""
        return listing.odd_values(self.state, BY_NAME[entity], USERS[user])

    @property
    def requests(self) -> list[RequestLogEntry]:
        """Requests answered so far (admin routes excluded)."""
        with self.state.lock:
            return list(self.state.log)

    def revoke_tokens(self) -> None:
        """Invalidate every issued OAuth token now: the next Bearer request gets a 401."""
        with self.state.lock:
            self.state.tokens.clear()

    def clear_requests(self) -> None:
        """Empty the request log."""
        with self.state.lock:
            self.state.log.clear()

    def reset(self) -> None:
        """Re-seed data, initial knobs, clear logs and tokens, stop activity."""
        activity_mod.stop(self.state)
        self.state.reset()
