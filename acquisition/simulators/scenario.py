"""What the simulated participant does, and when: the shared script of the simulators.

Both simulators (sEMG and camera) read one :class:`Scenario`, so a tap or a smile shows
up in both modalities at the same *true* time. True time is the LSL clock of the host
(``pylsl.local_clock()``); each simulated device then distorts it with its own clock
offset, drift and jitter, and records the truth so sync can be checked against it.

The scenario is append-only and thread-safe: a protocol runner may add movements while
the simulators are running.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Movement:
    """The participant performs ``movement`` (a protocol id, e.g. ``smile-open`` or ``anger``)."""

    start: float  # true LSL time, s
    end: float
    movement: str
    intensity: float = 1.0  # scales the amplitude table; 1.0 = typical


@dataclass(frozen=True)
class Tap:
    """A tap on the electrode area: a sharp peak in the sEMG, a hand in the video."""

    time: float  # true LSL time of contact, s
    x_mm: float = 45.0  # face position of the contact (domain-facts coordinates)
    y_mm: float = -20.0
    strength: float = 1.0


@dataclass(frozen=True)
class Trigger:
    """A trigger pulse: amplifier trigger channel high and the LED lit."""

    time: float
    duration: float = 0.1


@dataclass
class Scenario:
    """Time-ordered movements, taps and triggers on the true clock."""

    movements: list[Movement] = field(default_factory=list)
    taps: list[Tap] = field(default_factory=list)
    triggers: list[Trigger] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.movements.sort(key=lambda m: m.start)
        self.taps.sort(key=lambda t: t.time)
        self.triggers.sort(key=lambda t: t.time)

    # -- building ---------------------------------------------------------------------
    def add_movement(self, m: Movement) -> None:
        with self._lock:
            bisect.insort(self.movements, m, key=lambda x: x.start)

    def add_tap(self, t: Tap) -> None:
        with self._lock:
            bisect.insort(self.taps, t, key=lambda x: x.time)

    def add_trigger(self, t: Trigger) -> None:
        with self._lock:
            bisect.insort(self.triggers, t, key=lambda x: x.time)

    # -- queries (used by the simulators every block/frame) ---------------------------
    def movement_at(self, t: float) -> tuple[str, float]:
        """The movement and its envelope (0..1, smooth 150 ms ramps) at true time ``t``."""
        with self._lock:
            for m in reversed(self.movements):
                if m.start <= t < m.end:
                    ramp = 0.15
                    env = min(1.0, (t - m.start) / ramp, (m.end - t) / ramp)
                    return m.movement, max(0.0, env) * m.intensity
                if m.end <= t - 1.0 and m.start < t:
                    break
        return "rest", 0.0

    def taps_between(self, t0: float, t1: float) -> list[Tap]:
        with self._lock:
            return [x for x in self.taps if t0 <= x.time < t1]

    def triggers_between(self, t0: float, t1: float) -> list[Trigger]:
        """Triggers whose high period overlaps [t0, t1)."""
        with self._lock:
            return [x for x in self.triggers if x.time < t1 and x.time + x.duration > t0]

    def trigger_high(self, t: float) -> bool:
        return bool(self.triggers_between(t, t + 1e-9))


TAP_BLOCK_SPACING_S = 1.5


def tap_block(start: float, n: int = 3, spacing: float = TAP_BLOCK_SPACING_S) -> list[Tap]:
    """``n`` taps ``spacing`` s apart, alternating cheeks, as the protocols cue them."""
    return [
        Tap(time=start + i * spacing, x_mm=45.0 if i % 2 == 0 else -45.0, y_mm=-20.0)
        for i in range(n)
    ]


def demo_scenario(t0: float, duration: float = 60.0) -> Scenario:
    """A one-minute demo: taps and a trigger at both ends, functional movements between.

    ``t0`` is the true LSL time at which the scenario starts.
    """
    sc = Scenario()
    for tap in tap_block(t0 + 2.0):
        sc.add_tap(tap)
    sc.add_trigger(Trigger(t0 + 7.0))
    moves = ["forehead", "eyes-tight", "smile-open", "lip-pucker", "snarl", "happiness", "anger"]
    t = t0 + 9.0
    hold, relax = 3.0, 2.0
    end_block = t0 + duration - 8.0
    for name in moves:
        if t + hold > end_block:
            break
        sc.add_movement(Movement(t, t + hold, name))
        t += hold + relax
    sc.add_trigger(Trigger(t0 + duration - 7.5))
    for tap in tap_block(t0 + duration - 6.0):
        sc.add_tap(tap)
    return sc
