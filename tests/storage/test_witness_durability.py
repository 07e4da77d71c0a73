"""The witness keeps the head of every record that precedes a side effect on disk before
the append returns; the periodic heads between them are committed without waiting for
the disk (they were an fsync on every 64th event's request)."""

from __future__ import annotations

from pathlib import Path

from plangate.audit import AuditLog
from plangate.audit.log import append_all
from plangate.storage.witness import SqliteWitness, WitnessedAudit


class Spy(SqliteWitness):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.calls: list[tuple[int, bool, int]] = []

    def record(self, seq: int, digest: str, *, durable: bool = True) -> None:
        super().record(seq, digest, durable=durable)
        (sync,) = self._db.execute("PRAGMA synchronous").fetchone()
        self.calls.append((seq, durable, int(sync)))


def test_durable_heads_wait_for_the_disk_and_periodic_ones_do_not(tmp_path: Path) -> None:
    witness = Spy(tmp_path / "w.db")
    audit = WitnessedAudit(AuditLog(tmp_path / "a.db"), witness, every=4)
    for i in range(3):
        audit.append("plan", "r", {"i": i})
    audit.append("call", "r", {"tool": "x"})           # seq 4: durable (and periodic)
    append_all(audit, [("trigger", "r", {}), ("plan", "r", {}), ("verdict", "r", {})])  # 5-7
    append_all(audit, [("trigger", "r", {}), ("plan", "r", {})])  # 8-9: periodic at 8
    append_all(audit, [("call", "r", {"tool": "y"})])  # 10: durable
    assert witness.calls == [(4, True, 2), (9, False, 1), (10, True, 2)]
    assert witness.heads()[-1][0] == 10
    assert audit.verify().ok
