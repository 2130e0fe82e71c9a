"""Stopping a long training run early without losing it.

The first Ctrl-C (SIGINT) or SIGUSR1 (for runs under nohup) asks training to stop after the
current step: that partial epoch is validated, the best epoch so far is selected, tested and
exported as after a normal end. A second Ctrl-C aborts at once, as usual. Once training is over
(the best epoch being tested and exported) SIGUSR1 is logged and ignored, since that is already
what it asks for, and Ctrl-C aborts at once; without a handler there, either would end the run
silently, losing its test.
"""
from __future__ import annotations

import signal
import threading


class StopRequest:
    def __init__(self, log=print):
        self.log = log
        self.requested = False
        self.finishing = False
        self._previous: dict[int, object] = {}

    def training_over(self) -> None:
        self.finishing = True

    def _handle(self, signum, frame):
        if signum == signal.SIGINT and (self.requested or self.finishing):
            raise KeyboardInterrupt
        if self.finishing:
            self.log(f"{signal.Signals(signum).name}: training is over; its best epoch is being tested and exported")
            return
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
