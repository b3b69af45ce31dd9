"""``python -m target_oracle``."""

from .target import TargetOracle

TargetOracle.cli()
