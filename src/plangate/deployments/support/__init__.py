"""The support desk: customers chat or mail in; the desk answers from their own records only.

A deployment of plangate beside the inbox assistant (docs/support.md): a tool catalog
(`catalog.yaml`), a policy (`policy.yaml`), tools over a SQL database (`runtime.py`,
`db.py`: SQLite embedded, PostgreSQL), per-row readers as stored labels (`labels.py`),
intake of chat sessions and mail (`intake.py`), and a judge of the resulting state
(`judge.py`). SupportBench (`plangate bench support`) and the demo
(`plangate demo --deployment support`) run it.
"""

from __future__ import annotations

from pathlib import Path

POLICY_PATH = Path(__file__).with_name("policy.yaml")
CATALOG_PATH = Path(__file__).with_name("catalog.yaml")

__all__ = ["CATALOG_PATH", "POLICY_PATH"]
