"""Oracle identifiers from Singer names: case, forbidden characters and length.

Every identifier the loader writes is quoted, so reserved words (``ORDER``, ``DATE``) and
names as sent are safe. Oracle limits identifiers in bytes (128 from 12.2, 30 before);
a longer name is cut at a character boundary and given a short hash of the whole name,
so the same input always yields the same column and two long names stay apart.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

IdentifierCase = Literal["upper", "preserve"]

#: Characters a quoted Oracle identifier cannot hold at all.
_FORBIDDEN = re.compile(r'["\x00]')
#: In ``upper`` mode anything but letters, digits, ``_``, ``$`` and ``#`` becomes ``_``.
_NOT_PLAIN = re.compile(r"[^\w$#]", re.UNICODE)
_HASH_HEX = 8


@dataclass(frozen=True)
class Identifier:
    """A conformed name, and the longer one it was shortened from (if it was)."""

    name: str
    shortened_from: str | None = None


def _cut_to_bytes(text: str, limit: int) -> str:
    """Longest prefix of ``text`` whose UTF-8 encoding fits in ``limit`` bytes."""
    encoded = text.encode("utf-8")[:limit]
    return encoded.decode("utf-8", errors="ignore")


def shorten(name: str, max_bytes: int) -> str:
    """``name`` itself when it fits, else a prefix, ``_`` and 8 hex digits of its hash."""
    if len(name.encode("utf-8")) <= max_bytes:
        return name
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:_HASH_HEX]
    return f"{_cut_to_bytes(name, max_bytes - _HASH_HEX - 1)}_{digest}"


@lru_cache(maxsize=4096)
def conform(name: str, case: IdentifierCase, max_bytes: int) -> Identifier:
    """Conform one Singer name (stream, property, schema) to an Oracle identifier.

    Raises:
        ValueError: for a name that is empty once conformed.

    """
    cased = _NOT_PLAIN.sub("_", name.strip()).upper() if case == "upper" else _FORBIDDEN.sub("_", name)
    if not cased:
        msg = f"name {name!r} is empty once conformed to an Oracle identifier"
        raise ValueError(msg)
    final = shorten(cased, max_bytes)
    return Identifier(final, shortened_from=cased if final != cased else None)
