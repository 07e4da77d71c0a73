"""Progress of long commands, on stderr so stdout stays the result.

On a terminal one line is redrawn in place (`bench inbox: 120/267 scenarios, 17 s`); in a
log (CI, a pipe) a line is written when the work starts, every few seconds, and at the
end, so a silent minute never looks like a hang. No dependency: a progress bar library
would be the only one the core needed for this.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


class Progress:
    """Counts units of work and shows how far along the command is."""

    def __init__(self, what: str, total: int | None = None, *, unit: str = "",
                 stream: TextIO | None = None, every: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.what = what
        self.total = total
        self.unit = unit
        self.stream = stream or sys.stderr
        self.every = every
        self.clock = clock
        self.done = 0
        self.note = ""
        self.started = clock()
        self._shown = self.started
        self._live = bool(getattr(self.stream, "isatty", lambda: False)())
        self._write(f"{what}: started" + (f" ({total} {unit})" if total else ""), final=not self._live)

    def step(self, n: int = 1, note: str = "") -> None:
        self.done += n
        self.note = note or self.note
        now = self.clock()
        if (self._live and now - self._shown >= 0.2) or now - self._shown >= self.every:
            self._shown = now
            self._write(self._line(now), final=not self._live)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        """On a failure, wipe the live line so the error starts on a clean line."""
        if kind is not None and self._live:
            self._write("", final=False)

    def echo(self, text: str) -> None:
        """Print a result line on stdout without tearing the progress line: on a terminal
        the progress line is cleared first and drawn again below it."""
        if self._live:
            self._write("", final=False)
        print(text, flush=True)
        if self._live:
            self._write(self._line(self.clock()), final=False)

    def finish(self, note: str = "") -> None:
        now = self.clock()
        self.note = note
        self._write(self._line(now, finished=True), final=True)

    def _line(self, now: float, finished: bool = False) -> str:
        count = f"{self.done}/{self.total}" if self.total else str(self.done)
        head = f"{self.what}: {'done, ' if finished else ''}{count} {self.unit}".rstrip()
        return f"{head}, {now - self.started:.0f} s" + (f" ({self.note})" if self.note else "")

    def _write(self, text: str, *, final: bool) -> None:
        try:
            if self._live:
                self.stream.write("\r\033[K" + text + ("\n" if final else ""))
            else:
                self.stream.write(text + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # stderr closed: progress is not worth failing for
            pass


__all__ = ["Progress"]
