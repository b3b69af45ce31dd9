"""Singer target for Oracle Database, built on the Meltano Singer SDK."""

from .target import TargetOracle

__all__ = ["TargetOracle"]
