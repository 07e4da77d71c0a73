"""Run the README's "Try it" block as a reader would, in bash from the repository root,
with the environment's `plangate` first on PATH, and check that each step said what the
README says it does (approve, deny, escalate, approve, run, verify)."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from readme import ROOT, block

script = block("sh walkthrough")
with tempfile.TemporaryDirectory(prefix="plangate-walkthrough-") as tmp:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "TMPDIR": tmp}
    for name in ("PLANGATE_POLICY", "PLANGATE_CATALOG", "PLANGATE_DB", "PLANGATE_CONFIG"):
        env.pop(name, None)
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
out = done.stdout
expected = ["verdict: approve", "verdict: deny", "exit 3", "run run_", "completed", "verdict: escalate",
            "exit 4", "waiting for the owner", "asks because:", ": approved", "running on the owner's approval",
            "hash chain intact"]
missing = [e for e in expected if e not in out]
if done.returncode != 0 or missing or done.stderr.strip():
    sys.exit(f"README walkthrough failed (exit {done.returncode}; missing {missing}):\n{out}\n{done.stderr}")
print("README walkthrough: ok")
