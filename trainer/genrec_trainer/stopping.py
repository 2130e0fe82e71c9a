"""Stopping a long training run early without losing it.

The first Ctrl-C (SIGINT) or SIGUSR1 (for runs under nohup) asks training to stop after the
current step: that partial epoch is validated, the best epoch so far is selected, tested and
exported as after a normal end. A second Ctrl-C aborts at once, as usual.
"""
from __future__ import annotations

import signal
import threading


class StopRequest:
    def __init__(self, log=print):
        self.log = log
        self.requested = False
        self._previous: dict[int, object] = {}

    def _handle(self, signum, frame):
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True
        self.log(f"{signal.Signals(signum).name}: stopping after this step; the best epoch so far will be tested "
                 "and exported (Ctrl-C again aborts)")

    def __enter__(self) -> "StopRequest":
        if threading.current_thread() is threading.main_thread():  # Python only delivers signals there
            for sig in (signal.SIGINT, signal.SIGUSR1):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
