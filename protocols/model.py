"""The in-memory form of a movement protocol: what a protocol TOML file describes.

Objects are frozen and compare by value, so a protocol loaded, dumped and loaded again
is ``==`` to the original, and a recording can store exactly the protocol it ran.
Validation lives in :mod:`mimicsync.protocols.schema`; these classes trust their input.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

#: Languages every text must be given in (participants are German-speaking, docs English).
LANGUAGES: tuple[str, ...] = ("en", "de")

#: How trials are ordered (see :mod:`mimicsync.protocols.plan`).
ORDERS: tuple[str, ...] = ("fixed", "random", "random-no-repeat")

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Text:
    """One text in every supported language."""

    en: str
    de: str

    def get(self, language: str) -> str:
        if language not in LANGUAGES:
            raise ValueError(f"language {language!r} is not supported; use one of {LANGUAGES}")
        return getattr(self, language)


@dataclass(frozen=True)
class Timings:
    """Phase durations of one trial, in seconds (see the runner for what each phase shows)."""

    instruction: float  # instruction text / media shown, participant at rest
    countdown: float  # "3, 2, 1" before the movement
    hold: float  # the movement is performed and held
    relax: float  # back to a neutral face before the next trial

    @property
    def total(self) -> float:
        return self.instruction + self.countdown + self.hold + self.relax


TIMING_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Timings))


@dataclass(frozen=True)
class Defaults:
    """Timings and repetitions that steps inherit unless they set their own."""

    timings: Timings
    repetitions: int


@dataclass(frozen=True)
class Step:
    """One movement of a protocol (e.g. ``smile-open``), performed ``repetitions`` times."""

    id: str
    label: Text
    instruction: Text
    timings: Timings  # resolved: step values over protocol defaults
    repetitions: int
    media: str | None = None  # image/video path relative to the protocol file


@dataclass(frozen=True)
class TapBlock:
    """The sync tap block at the start and at the end of every run.

    ``instruction`` s of the tap text, then ``count`` tap cues ``interval`` s apart,
    then ``after`` s of quiet before the next phase.
    """

    count: int
    interval: float
    instruction: float
    after: float
    text: Text

    @property
    def total(self) -> float:
        return self.instruction + (self.count - 1) * self.interval + self.after


@dataclass(frozen=True)
class Protocol:
    """A named, ordered list of steps framed by tap blocks."""

    name: str
    title: str
    description: str
    order: str  # one of ORDERS
    repeat_instruction: bool  # False: consecutive repetitions show the instruction once
    tap_block: TapBlock
    steps: tuple[Step, ...]
    defaults: Defaults | None = None
    source: Path | None = field(default=None, compare=False)  # file it was loaded from

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(f"protocol {self.name!r} has no step {step_id!r}")

    def step_number(self, step_id: str) -> int:
        """1-based position of the step: sessions are paired by this number, not by label."""
        return 1 + [s.id for s in self.steps].index(step_id)

    def media_path(self, step: Step) -> Path | None:
        """The step's media file, resolved relative to the protocol file."""
        if step.media is None:
            return None
        base = self.source.parent if self.source is not None else Path.cwd()
        return base / step.media
