"""The README's executable blocks, shared by the scripts CI runs on them."""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def block(tag: str) -> str:
    """The one fenced block tagged `tag` (```python quickstart, ```sh walkthrough)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(rf"```{tag}\n(.*?)```", text, re.S)
    if len(blocks) != 1:
        sys.exit(f"README.md must contain exactly one ```{tag} block")
    return str(blocks[0])
