"""Where an interrupted session continues: the next unfinished trial of the same plan.

A trial counts as completed once its movement was held to the end (the runner's
``relax`` event); a later ``repeat`` of that trial takes it back. A resumed run starts
after the last completed trial (trials skipped before it stay skipped) and records the
previous run's id, so the two recordings can be joined.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mimicsync.dataset.events import Event
from mimicsync.protocols.listeners import RELAX, REPEAT, RUN_START


@dataclass(frozen=True)
class ResumePoint:
    """What a new run needs to continue an aborted one."""

    previous_run_id: str
    completed: tuple[int, ...]  # trial indices completed by the previous run(s)
    start_index: int = 0  # where the previous run itself started (it may be a resume too)
    seed: int | None = None  # the previous plan's seed, checked against the new plan
    protocol: str | None = None

    @property
    def next_index(self) -> int:
        """Index of the first trial the new run performs."""
        return max([self.start_index, *(i + 1 for i in self.completed)])


def resume_point_from_events(events: Iterable[Event]) -> ResumePoint:
    """The resume point after the last run found in ``events`` (e.g. read from a recording)."""
    events = list(events)
    starts = [e for e in events if e.trial_type == RUN_START]
    if not starts:
        raise ValueError("no run_start event: these events are not from a protocol run")
    start = starts[-1]
    run_id = start.extra.get("run_id")
    completed: set[int] = set()
    for e in events:
        if e.extra.get("run_id") != run_id or "trial" not in e.extra:
            continue
        if e.trial_type == RELAX:
            completed.add(int(e.extra["trial"]))
        elif e.trial_type == REPEAT:
            completed.discard(int(e.extra["trial"]))
    return ResumePoint(
        previous_run_id=str(run_id),
        completed=tuple(sorted(completed)),
        start_index=int(start.extra.get("start_trial", 0)),
        seed=start.extra.get("seed"),
        protocol=start.extra.get("protocol"),
    )
