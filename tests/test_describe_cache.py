"""The describe cache is private to its user and trusts nothing it reads back.

It lives under XDG_CACHE_HOME (or ~/.cache), owner-only; an entry dated in the future, altered,
or of the wrong shape is ignored and rewritten, with one warning.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import time

import pytest
from tapruns import discover, tap_config

from tap_oracle_wms.cache import DescribeCache


def describe_requests(sandbox) -> list:
    return [r for r in sandbox.requests if r.path.rstrip("/").endswith("/describe")]


def cached(sandbox, directory, **settings) -> dict:
    return tap_config(
        sandbox, "wave", discovery_cache_ttl=3600, discovery_cache_dir=str(directory), **settings
    )


def cache_file(directory):
    (path,) = [p for p in directory.rglob("*.json")]
    return path


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


# --- where it lives -----------------------------------------------------------------------------


def test_default_cache_is_under_xdg_cache_home(sandbox, tmp_path, monkeypatch):
    """Without discovery_cache_dir the cache is the user's own (XDG_CACHE_HOME), not the shared temp dir."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    discover(tap_config(sandbox, "wave", discovery_cache_ttl=3600))
    assert cache_file(tmp_path / "xdg" / "tap-oracle-wms")


def test_default_cache_falls_back_to_home_dot_cache(tmp_path, monkeypatch):
    """No XDG_CACHE_HOME (or a relative one, which the spec says to ignore): ~/.cache."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")
    cache = DescribeCache(None, 3600, "https://wms.example.com/env|v10|etl")
    assert cache.path.parent == tmp_path / ".cache" / "tap-oracle-wms"


def test_cache_directory_and_file_are_owner_only(sandbox, tmp_path, monkeypatch):
    """The directory is 0700 and the file 0600, whatever the umask."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    previous = os.umask(0o000)
    try:
        discover(tap_config(sandbox, "wave", discovery_cache_ttl=3600))
    finally:
        os.umask(previous)
    path = cache_file(tmp_path / "xdg")
    assert mode(path.parent) == 0o700
    assert mode(path) == 0o600


def test_loose_permissions_of_the_default_directory_are_tightened(sandbox, tmp_path, monkeypatch):
    """A default cache directory left group/world readable is made owner-only again."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    folder = tmp_path / "xdg" / "tap-oracle-wms"
    folder.mkdir(parents=True)
    folder.chmod(0o777)
    discover(tap_config(sandbox, "wave", discovery_cache_ttl=3600))
    assert mode(folder) == 0o700


# --- what it trusts -----------------------------------------------------------------------------


def doctor(directory, change) -> None:
    """Edit every entry of the cache file in place."""
    path = cache_file(directory)
    data = json.loads(path.read_text())
    for entry in data["entries"].values():
        change(entry)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    ("what", "change"),
    [
        ("dated in the future", lambda e: e.update(at=time.time() + 10 * 365 * 86400)),
        ("altered", lambda e: e["describe"]["fields"].pop("wave_nbr")),
        ("retyped", lambda e: e["describe"]["fields"]["wave_nbr"].update(type="integer")),
        ("malformed", lambda e: e.update(describe=["not", "a", "describe"])),
        ("undated", lambda e: e.pop("at")),
    ],
)
def test_bad_entry_is_described_again_with_one_warning(sandbox, tmp_path, caplog, what, change):
    """An entry that fails its checks is ignored, described again and rewritten; one warning says so."""
    config = cached(sandbox, tmp_path)
    first = discover(config)
    doctor(tmp_path, change)
    sandbox.clear_requests()
    with caplog.at_level(logging.WARNING):
        second = discover(config)
    assert second == first
    assert len(describe_requests(sandbox)) == 1
    assert [m for m in warnings_of(caplog) if "cache" in m] == [
        f"Describe cache {cache_file(tmp_path)}: ignoring the entry for wave (invalid, e.g. altered "
        "or dated in the future); it is described again and rewritten"
    ]
    sandbox.clear_requests()
    discover(config)  # rewritten: good again
    assert describe_requests(sandbox) == []


def test_unreadable_cache_file_is_rewritten_with_one_warning(sandbox, tmp_path, caplog):
    """A cache file that is not JSON is replaced by a good one, with a warning."""
    config = cached(sandbox, tmp_path)
    discover(config)
    cache_file(tmp_path).write_text("{torn")
    with caplog.at_level(logging.WARNING):
        discover(config)
    assert [m for m in warnings_of(caplog) if "cache" in m] == [
        f"Describe cache {cache_file(tmp_path)} is unreadable or malformed; it is rewritten"
    ]
    assert json.loads(cache_file(tmp_path).read_text())["entries"]["wave"]


def test_cache_of_another_tenant_is_not_used(sandbox, tmp_path):
    """Entries are bound to base_url, API version and user: another tenant's file does not count."""
    discover(cached(sandbox, tmp_path))
    path = cache_file(tmp_path)
    other = DescribeCache(str(tmp_path), 3600, "https://other.example.com/env|v10|admin")
    other.path.write_text(path.read_text())
    assert other.load() == {}
