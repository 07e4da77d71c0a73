"""Run the README's quickstart block exactly as a reader would paste it, from a folder
that is not the repository: it must not depend on the current directory."""

import os
import tempfile

from readme import ROOT, block

code = block("python quickstart")
with tempfile.TemporaryDirectory(prefix="plangate-quickstart-") as elsewhere:
    os.chdir(elsewhere)
    exec(compile(code, "README.md#quickstart", "exec"), {"__name__": "__quickstart__"})
    os.chdir(ROOT)
print("README quickstart: ok")
