"""The `tap-oracle-wms-sandbox` command: knob flags and one-line errors instead of tracebacks."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tap_oracle_wms_sandbox.cli import HELP, config_from
from tap_oracle_wms_sandbox.state import knob_names


def run_cli(*args: str, code: str = "") -> subprocess.CompletedProcess[str]:
    """Run the CLI module in a fresh interpreter (after `code`), bounded by a timeout."""
    script = f"{code}\nimport runpy, sys\nsys.argv = ['tap-oracle-wms-sandbox', *{list(args)!r}]\n"
    script += "runpy.run_module('tap_oracle_wms_sandbox.cli', run_name='__main__')"
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )


def test_every_knob_has_a_help_text():
    """HELP documents every SandboxConfig knob (the flags are generated from it)."""
    assert set(HELP) == set(knob_names())


def test_the_readme_names_every_knob_flag():
    """The tap's README, section "The sandbox", names every flag, so a new knob cannot go unsaid."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[
        readme.index("## The sandbox") : readme.index("\n## ", readme.index("## The sandbox") + 1)
    ]
    assert [k for k in knob_names() if "--" + k.replace("_", "-") not in section] == []


def test_cli_flags_set_the_new_knobs():
    """Comma-list flags become tuples; choice and number flags land in SandboxConfig."""
    cfg = config_from(
        [
            "--entity-faults", "order_dtl:500,wave:418",
            "--ordering-rejects", "*:desc",
            "--slow-page-rows", "100",
            "--slow-page-entities", "inventory",
            "--later-page-404", "once",
            "--redirect-lists", "same_origin",
            "--retry-after", "NaN",
            "--link-origin", "port443",
            "--unknown-types", "on",
            "--next-page-loop", "fresh",
            "--odd-values", "order_dtl,wave",
        ]
    )  # fmt: skip
    assert cfg.entity_faults == ("order_dtl:500", "wave:418")
    assert cfg.ordering_rejects == ("*:desc",)
    assert (cfg.slow_page_rows, cfg.slow_page_entities) == (100, ("inventory",))
    assert (cfg.later_page_404, cfg.redirect_lists, cfg.retry_after) == ("once", "same_origin", "NaN")
    assert (cfg.link_origin, cfg.unknown_types) == ("port443", "on")
    assert (cfg.next_page_loop, cfg.odd_values) == ("fresh", ("order_dtl", "wave"))


def test_cli_bad_knob_value_is_one_line_naming_it():
    """A bad value is one `error:` line naming the knob, exit 2."""
    out = run_cli("--later-page-404", "sometimes")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [out.stderr.strip()]
    assert "later_page_404" in out.stderr


def test_cli_port_in_use_is_one_line_exit_2():
    """A busy --port prints one line naming it, exit 2, no traceback."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = run_cli("--scale", "100", "--port", str(port))
    assert out.returncode == 2
    assert out.stderr.strip() == f"port {port} is in use; choose another with --port"


@pytest.mark.parametrize("module", ["uvicorn", "starlette"])
def test_cli_without_web_stack_is_one_line_exit_2(module):
    """Installed without its web stack: one line telling what to install, exit 2."""
    out = run_cli("--scale", "100", code=f"import sys\nsys.modules[{module!r}] = None")
    assert out.returncode == 2
    assert out.stderr.strip() == "the sandbox needs its web stack: pip install starlette 'uvicorn[standard]'"
