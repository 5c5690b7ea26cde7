"""Expand a protocol and a seed into the concrete, ordered trial list of one session.

The plan is what the runner executes and what the recording stores (``Plan.to_dict``):
storing the expanded order, not just the seed, keeps a session readable even if the
shuffling code changes. The same protocol and seed always give the same plan, so an
aborted session can be resumed with the order it started with.
"""

from __future__ import annotations

import random
import secrets
from collections import Counter
from dataclasses import dataclass
from typing import Any

from mimicsync.protocols.model import TIMING_FIELDS, Protocol, Timings


@dataclass(frozen=True)
class Trial:
    """One repetition of one step, at position ``index`` of the run."""

    index: int  # 0-based position in the run order
    step_id: str
    step_number: int  # 1-based position of the step in the protocol (pair sessions by it)
    repetition: int  # 1-based: the k-th time this step comes in the plan
    repetitions: int  # how many times this step comes in the plan
    timings: Timings
    show_instruction: bool  # False for consecutive repetitions when repeat_instruction = false

    @property
    def planned_duration(self) -> float:
        t = self.timings
        return (t.instruction if self.show_instruction else 0.0) + t.countdown + t.hold + t.relax

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "index": self.index,
            "step": self.step_id,
            "step_number": self.step_number,
            "repetition": self.repetition,
            "repetitions": self.repetitions,
            "show_instruction": self.show_instruction,
        }
        d.update({f: getattr(self.timings, f) for f in TIMING_FIELDS})
        return d


@dataclass(frozen=True)
class Plan:
    """A protocol's trials in run order, with the seed that ordered them."""

    protocol: Protocol
    seed: int
    trials: tuple[Trial, ...]

    @property
    def planned_duration(self) -> float:
        """Seconds from the first tap cue block to the end of the last one, without pauses."""
        return 2 * self.protocol.tap_block.total + sum(t.planned_duration for t in self.trials)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form for the recording (protocol name, seed, expanded order)."""
        return {
            "protocol": self.protocol.name,
            "order": self.protocol.order,
            "seed": self.seed,
            "trials": [t.to_dict() for t in self.trials],
        }


def new_seed() -> int:
    """A fresh seed for a new session (32 bits: exact in JSON and in every HDF5 attribute)."""
    return secrets.randbits(32)


def _feasible(counts: Counter[str], prev: str | None) -> bool:
    """Can ``counts`` be laid out with no two equal neighbours, not starting with ``prev``?"""
    n = sum(counts.values())
    if n == 0:
        return True
    half = (n + 1) // 2
    if max(counts.values()) > half:
        return False
    return not (n % 2 == 1 and prev is not None and counts[prev] == half)


def _no_repeat_order(step_ids: list[str], reps: dict[str, int], rng: random.Random) -> list[str]:
    """A random order with no step twice in a row, each position drawn by remaining count."""
    counts = Counter(reps)
    order: list[str] = []
    prev: str | None = None
    for _ in range(sum(reps.values())):
        candidates = []
        for s in step_ids:
            if counts[s] == 0 or s == prev:
                continue
            counts[s] -= 1
            if _feasible(+counts, s):
                candidates.append(s)
            counts[s] += 1
        pick = rng.choices(candidates, weights=[counts[s] for s in candidates])[0]
        counts[pick] -= 1
        order.append(pick)
        prev = pick
    return order


def _step_order(protocol: Protocol, rng: random.Random) -> list[str]:
    ids = [s.id for s in protocol.steps]
    reps = {s.id: s.repetitions for s in protocol.steps}
    if protocol.order == "fixed":
        return [s for s in ids for _ in range(reps[s])]
    if protocol.order == "random":
        order = [s for s in ids for _ in range(reps[s])]
        rng.shuffle(order)
        return order
    if protocol.order == "random-no-repeat":
        return _no_repeat_order(ids, reps, rng)
    raise ValueError(f"protocol {protocol.name!r}: unknown order {protocol.order!r}")


def plan_trials(protocol: Protocol, seed: int | None = None) -> Plan:
    """The ordered trials of ``protocol`` for ``seed``.

    Parameters
    ----------
    protocol : Protocol
        A loaded protocol.
    seed : int, optional
        The seed of the random order (a fresh one if None; it is stored in the plan, so a
        later session repeats the same order).

    Returns
    -------
    Plan
        The protocol, the seed and the expanded trials in order.

    Raises
    ------
    ValueError
        ``seed`` is not a non-negative integer.
    """
    if seed is None:
        seed = new_seed()
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    order = _step_order(protocol, random.Random(seed))
    seen: Counter[str] = Counter()
    trials = []
    for index, step_id in enumerate(order):
        step = protocol.step(step_id)
        seen[step_id] += 1
        first_of_run = index == 0 or order[index - 1] != step_id
        trials.append(
            Trial(
                index=index,
                step_id=step_id,
                step_number=protocol.step_number(step_id),
                repetition=seen[step_id],
                repetitions=step.repetitions,
                timings=step.timings,
                show_instruction=protocol.repeat_instruction or first_of_run,
            )
        )
    return Plan(protocol, seed, tuple(trials))
