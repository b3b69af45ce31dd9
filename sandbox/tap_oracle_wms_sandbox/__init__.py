"""Local Oracle WMS Cloud (lgfapi v10) emulator: `Sandbox(SandboxConfig(...))` serves it for real."""

from tap_oracle_wms_sandbox.server import Sandbox, SandboxConfig

__all__ = ["Sandbox", "SandboxConfig"]
