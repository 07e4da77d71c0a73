"""`python -m plangate.fronts.claude_code [--config FILE]`: the command hook with the fewest imports."""

import sys

from plangate.fronts.claude_code.command import main

sys.exit(main())
