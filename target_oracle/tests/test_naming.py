"""Identifiers: Oracle case convention, names as sent, and deterministic shortening."""

from __future__ import annotations

import logging

import pytest

from target_oracle.connector import OracleConnector
from target_oracle.naming import conform, shorten


def test_names_go_upper_case_by_default():
    """Oracle's convention: order_hdr becomes ORDER_HDR."""
    assert conform("order_hdr", "upper", 128).name == "ORDER_HDR"


def test_upper_case_turns_punctuation_into_underscores():
    """Spaces, dashes and dots would make awkward quoted names; they become underscores."""
    assert conform("unit cost-usd.v2", "upper", 128).name == "UNIT_COST_USD_V2"


def test_preserve_keeps_names_exactly_as_sent():
    """identifier_case preserve writes camelCase and spaces as they came."""
    assert conform("orderNbr x", "preserve", 128).name == "orderNbr x"


def test_preserve_replaces_only_what_oracle_forbids():
    """A double quote cannot appear in an Oracle identifier, even quoted."""
    assert conform('say "hi"', "preserve", 128).name == "say _hi_"


def test_long_name_is_cut_with_a_hash_of_the_whole_name():
    """A 40-character name under a 30-byte limit keeps a prefix and an 8-hex-digit hash."""
    result = conform("a_very_long_column_name_from_the_wms_api", "upper", 30)
    assert len(result.name.encode()) == 30
    assert result.name.startswith("A_VERY_LONG_COLUMN_NA_")  # 21 bytes, "_", 8 hex digits
    assert result.shortened_from == "A_VERY_LONG_COLUMN_NAME_FROM_THE_WMS_API"


def test_shortening_is_deterministic():
    """The same long name gives the same identifier in every run."""
    assert shorten("X" * 200, 128) == shorten("X" * 200, 128)


def test_long_names_with_a_common_prefix_stay_apart():
    """Two long names differing only at the end get different identifiers."""
    assert shorten("P" * 140 + "_one", 128) != shorten("P" * 140 + "_two", 128)


def test_multibyte_names_are_cut_at_a_character_boundary():
    """The limit is in bytes; a cut never splits a UTF-8 character."""
    cut = shorten("é" * 100, 30)
    assert len(cut.encode("utf-8")) <= 30
    cut.encode("utf-8").decode("utf-8")


def test_name_that_fits_is_untouched():
    """Exactly 128 bytes fits."""
    assert conform("A" * 128, "upper", 128).shortened_from is None


def test_empty_name_is_rejected():
    """A property named only by spaces has no identifier."""
    with pytest.raises(ValueError, match="empty"):
        conform("", "upper", 128)


def test_shortened_name_is_warned_about_once(tmp_path, caplog):
    """The connector logs one warning per shortened name, however often it is conformed."""
    connector = OracleConnector({"dry_run_sql_path": str(tmp_path / "s.sql"), **_defaults()})
    long_name = "n" * 40
    with caplog.at_level(logging.WARNING, logger="target_oracle"):
        first = connector.conform(long_name)
        second = connector.conform(long_name)
    assert first == second
    assert len(first.encode()) == 30
    assert [r.getMessage() for r in caplog.records].count(
        f"Name {long_name.upper()!r} is longer than the database's 30-byte limit; it is written as {first!r}"
    ) == 1


def _defaults():
    """The settings the target's schema would default, plus a 30-byte identifier limit."""
    return {
        "identifier_case": "upper",
        "max_identifier_length": 30,
        "max_string_size": "standard",
        "boolean_type": "number",
        "json_type": "clob",
        "load_method": "upsert",
        "staging_min_rows": 2000,
        "protocol": "tcp",
        "port": 1521,
        "ssl_server_dn_match": True,
        "tcp_connect_timeout": 20,
    }
