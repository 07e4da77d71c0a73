"""Facts about the AgentDyn checkout that the tests check (run inside the AgentDyn child).

    python -m plangate.bench.agentdyn.checks --src DIR/src   # prints one JSON object

* `agentdojo_file`: where `agentdojo` was imported from (must be the checkout);
* `catalog_gaps`: per suite, tools AgentDyn offers that the catalog lacks, and the reverse;
* `pending_requests`: accounts whose one-time-password queue is not empty in the default
  environment (the catalog's `verify_*` annotation relies on it being empty);
* `baseline`: per suite and injection task, whether the attack plan lands with every call
  approved, after the first converted user task (proves the judge and the plans work).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from plangate.bench.agentdyn.checkout import check_imported


def _pending(env: Any) -> tuple[int, list[str]]:
    """(accounts inspected, accounts with a pending request)."""
    seen, out = 0, []
    for platform in ("shopping_platform", "github_platform", "bank_database"):
        for i, account in enumerate(getattr(getattr(env, platform, None), "account_list", []) or []):
            seen += hasattr(account, "verification_stack")
            if getattr(account, "verification_stack", None):
                out.append(f"{platform}[{i}]")
    return seen, out


def facts(suites: list[str]) -> dict[str, Any]:
    import agentdojo

    from plangate.bench.agentdojo import gatebench as gb
    from plangate.bench.agentdojo import replay as rp
    from plangate.bench.agentdyn import gate

    gate.bind()
    out: dict[str, Any] = {"agentdojo_file": agentdojo.__file__, "catalog_gaps": {}, "pending_requests": {},
                           "accounts_inspected": {}, "baseline": {}}
    for suite in suites:
        catalog = gate.suite_policy(suite).catalog
        offered = {f.name for f in rp.get_suite(suite).tools}
        out["catalog_gaps"][suite] = sorted(offered ^ set(catalog.tools))
        out["accounts_inspected"][suite], out["pending_requests"][suite] = _pending(rp.load_environment(suite, {}))
        first = next(iter(gate.load_plans(suite)))
        out["baseline"][suite] = {iid: gb.run_baseline(suite, first, iid)[1] for iid in gate.load_attacks(suite)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="facts about the AgentDyn checkout, as JSON")
    parser.add_argument("--src", required=True)
    parser.add_argument("--suite", action="append")
    args = parser.parse_args()
    check_imported(Path(args.src).resolve())
    from plangate.bench.agentdojo._light import install_stubs
    from plangate.bench.agentdyn.gate import SUITES

    install_stubs()
    print(json.dumps(facts(args.suite or list(SUITES))))


if __name__ == "__main__":
    main()
