"""What the scenario benches (`bench support`, `bench incident`) share: the policy run,
then the attacks again under the allow-all baseline, with one progress count over both,
and the figures printed and written as JSON/Markdown."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from plangate.bench.inbox.runner import Result
from plangate.bench.inbox.scenario import Scenario
from plangate.policy import CompiledPolicy

Progress = Callable[[Result], None]


def run_with_baseline(
    scenarios: Sequence[Scenario], *, name: str, quick: bool, started: float,
    run_bench: Callable[..., list[Result]],
    baseline: Callable[..., dict[str, Any]],
    policy: Callable[[], CompiledPolicy],
    report: Callable[[Sequence[Result], float, str, dict[str, Any]], dict[str, Any]],
    markdown: Callable[[dict[str, Any]], str],
    json_path: str | None, markdown_path: str | None,
    progress: Callable[[int, int], None] | None, say: Callable[[str], None],
) -> dict[str, Any]:
    """Run `scenarios` under the policy, then their attacks under the baseline (`progress`
    counts both); print the Markdown with `say`, write the files asked for; the report."""
    total = len(scenarios) + sum(s.kind == "attack" for s in scenarios)
    done = [0]

    def tick(_result: Result) -> None:
        done[0] += 1
        if progress is not None:
            progress(done[0], total)

    results = run_bench(scenarios, progress=tick)
    base = baseline(scenarios, policy(), progress=tick)
    command = f"plangate bench {name}" + (" --quick" if quick else "")
    data = report(results, time.perf_counter() - started, command, base)
    say(markdown(data))
    if json_path:
        Path(json_path).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if markdown_path:
        Path(markdown_path).write_text(markdown(data), encoding="utf-8")
    return data
