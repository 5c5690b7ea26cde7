"""The protocol ``mimicsync demo`` runs: a one-minute tour, shortened to fit ``--duration``.

Five functional movements and two emotions, once each, framed by the usual tap blocks,
with the shipped protocols' own texts. It is built in code rather than shipped as a
file so it can shrink with ``--duration`` (tests record demos of a few seconds); the
recording stores it like any protocol, so ``--like`` can repeat a demo.
"""

from __future__ import annotations

from dataclasses import replace

from mimicsync.protocols.model import Protocol, TapBlock, Timings
from mimicsync.protocols.schema import load_protocol

FUNCTIONAL_STEPS = ("forehead", "eyes-tight", "smile-open", "lip-pucker", "snarl")
EMOTION_STEPS = ("happiness", "anger")
TRIAL = Timings(instruction=1.5, countdown=1.0, hold=2.5, relax=1.0)  # 6 s, like an emotion trial
MIN_PHASE_S = 0.05
TAIL_S = 0.5  # the recording goes on this long after the run (RecordOptions.tail_s)


def _scaled(t: Timings, k: float) -> Timings:
    return Timings(*(max(MIN_PHASE_S, round(v * k, 3)) for v in (t.instruction, t.countdown, t.hold, t.relax)))


def demo_protocol(duration: float = 60.0) -> Protocol:
    """The demo protocol, its timings scaled down when ``duration`` is under a minute."""
    functional, emotions = load_protocol("functional"), load_protocol("emotions")
    tb = functional.tap_block
    base = 2 * tb.total + (len(FUNCTIONAL_STEPS) + len(EMOTION_STEPS)) * TRIAL.total
    k = min(1.0, max(duration - TAIL_S, 0.0) / base)
    steps = [replace(functional.step(s), timings=_scaled(TRIAL, k), repetitions=1, media=None)
             for s in FUNCTIONAL_STEPS]
    steps += [replace(emotions.step(s), timings=_scaled(TRIAL, k), repetitions=1, media=None)
              for s in EMOTION_STEPS]
    tap = TapBlock(tb.count, max(MIN_PHASE_S, round(tb.interval * k, 3)),
                   max(MIN_PHASE_S, round(tb.instruction * k, 3)), max(MIN_PHASE_S, round(tb.after * k, 3)), tb.text)
    return Protocol(
        name="demo", title="mimicsync demo",
        description="Five functional movements and two emotions, once each, between tap blocks.",
        order="fixed", repeat_instruction=True, tap_block=tap, steps=tuple(steps))
