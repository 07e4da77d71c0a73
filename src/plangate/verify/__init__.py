"""`plangate catalog verify`: check a catalog's annotations against what its tools do.

`engine` and `canary` are generic (a catalog, an `Adapter`, canaries); the adapters
(`assistant`, `agentdojo`) build scratch environments for the shipped tool sets.
"""

from plangate.verify.canary import Canaries, Origin
from plangate.verify.engine import (
    Adapter,
    Case,
    Observation,
    Problem,
    Report,
    Scratch,
    Sent,
    ToolReport,
    verify_catalog,
    verify_tool,
)

__all__ = [
    "Adapter", "Canaries", "Case", "Observation", "Origin", "Problem", "Report", "Scratch", "Sent",
    "ToolReport", "verify_catalog", "verify_tool",
]
