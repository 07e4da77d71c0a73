"""Run the README's quickstart block exactly as a reader would paste it."""

import re
import sys
from pathlib import Path

root = Path(__file__).resolve().parents[1]
text = (root / "README.md").read_text(encoding="utf-8")
blocks = re.findall(r"```python quickstart\n(.*?)```", text, re.S)
if len(blocks) != 1:
    sys.exit("README.md must contain exactly one ```python quickstart block")
exec(compile(blocks[0], "README.md#quickstart", "exec"), {"__name__": "__quickstart__"})
print("README quickstart: ok")
