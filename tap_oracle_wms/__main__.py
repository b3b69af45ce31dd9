"""`python -m tap_oracle_wms`: the same command as `tap-oracle-wms`."""

from tap_oracle_wms.cli import main

main()
