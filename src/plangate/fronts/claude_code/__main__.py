"""`python -I -m plangate.fronts.claude_code [--config FILE]`: the command hook (the shipped
settings run `entry.py` by path instead, which skips plangate's own `__init__`)."""

from plangate.fronts.claude_code.entry import main

main()
