"""Execution: the approved plan, exactly, with every concrete call checked again."""

from plangate.execute.executor import CallRecord, Executor, Grant, RunResult
from plangate.execute.values import extraction_problem

__all__ = ["CallRecord", "Executor", "Grant", "RunResult", "extraction_problem"]
