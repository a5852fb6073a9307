"""The stand-in's own clock: wall time plus an offset that tests can advance."""

import threading
import time


class Clock:
    """Unix-seconds clock that can be moved forward (never backward)."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> int:
        with self._lock:
            return int(time.time() + self._offset)

    def advance(self, seconds: float) -> int:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds
        return self.now()

    @property
    def offset(self) -> float:
        with self._lock:
            return self._offset

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0
