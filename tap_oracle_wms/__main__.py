"""Allow `python -m tap_oracle_wms`."""

from tap_oracle_wms.tap import main

main()
