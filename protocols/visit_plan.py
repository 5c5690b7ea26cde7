"""Session plan files: a whole visit as data (which blocks, in which order, on which devices).

A visit of the lab is four protocol blocks, each recorded with electrodes ("S") and
without ("N", the electrode-free reference video), e.g.::

    format = 1
    name = "standard-visit"
    language = "de"                       # cue language (en | de)
    bell = false                          # terminal bell at tap and perform cues

    [devices]                             # every block's devices (mimicsync record flags)
    require = ["type=EMG"]
    streams = []
    camera = "realsense"                  # realsense | sim | none
    width = 1280
    height = 720
    fps = 30
    depth = "848x480:1.5"                 # off | WxH | WxH:MAX_M (848x480: full range)
    jpeg_quality = 85                     # --color-quality

    [[blocks]]
    task = "functional"                   # BIDS task label
    acq = "S"                             # BIDS acq label (optional)
    protocol = "functional"               # study protocols/ first, then the shipped ones
    seed = 1234                           # optional: fixed trial order (random protocols)

    [[blocks]]
    task = "functional"
    acq = "N"
    protocol = "functional-reference"
    devices = { require = [] }            # optional per-block override of [devices]

    [[blocks]]
    task = "rest"
    duration = 60                         # a plain recording of 60 s, no protocol

Every problem is one line naming file, block and field. Plans live anywhere; by name,
``<study_root>/plans/<name>.toml`` is used.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mimicsync.dataset.layout import LabelError, check_label
from mimicsync.errors import ErrorCode, MimicsyncError, check_duration, check_seed
from mimicsync.protocols import toml_writer
from mimicsync.protocols.device_setup import DeviceSetup, SetupError
from mimicsync.protocols.model import LANGUAGES
from mimicsync.protocols.schema import ProtocolError, load_protocol

FORMAT_VERSION = 1
TOP_FIELDS = ("format", "name", "description", "language", "bell", "devices", "blocks")
BLOCK_FIELDS = ("task", "acq", "protocol", "seed", "duration", "devices")
PLANS_DIR = "plans"


class PlanError(MimicsyncError, ValueError):
    """A session plan file is missing or invalid; the one-line message says how to fix it."""


@dataclass(frozen=True)
class Block:
    """One recording of a visit: a protocol run, or a plain recording of ``duration`` s."""

    task: str
    acq: str | None = None
    protocol: str | None = None  # name or path; None: plain recording
    seed: int | None = None  # None: a fresh seed per recording (stored with it)
    duration: float | None = None  # plain: length; protocol: an upper limit
    devices: Mapping[str, Any] = field(default_factory=dict)  # override of the visit's [devices]

    def __post_init__(self) -> None:
        if self.seed is not None:
            check_seed(self.seed)
        if self.duration is not None:
            check_duration(self.duration)

    @property
    def label(self) -> str:
        return self.task + (f"/{self.acq}" if self.acq else "")

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"task": self.task}
        for k in ("acq", "protocol", "seed", "duration"):
            if getattr(self, k) is not None:
                d[k] = getattr(self, k)
        if self.devices:
            d["devices"] = dict(self.devices)
        return d


@dataclass(frozen=True)
class VisitPlan:
    name: str
    blocks: tuple[Block, ...]
    devices: DeviceSetup = field(default_factory=DeviceSetup)
    description: str = ""
    language: str = "en"
    bell: bool = False
    source: Path | None = field(default=None, compare=False)
    study_root: Path | None = field(default=None, compare=False)  # whose protocols/ it names

    def block_setup(self, block: Block) -> DeviceSetup:
        """The visit's devices with the block's overrides."""
        if not block.devices:
            return self.devices
        merged = {**self.devices.to_dict(), **block.devices}
        return DeviceSetup.from_dict(merged, where=f"block {block.label}: devices")

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT_VERSION, "name": self.name, "description": self.description,
                "language": self.language, "bell": self.bell, "devices": self.devices.to_dict(),
                "blocks": [b.to_dict() for b in self.blocks]}


STANDARD_BLOCKS = (
    Block("functional", "S", "functional"),
    Block("functional", "N", "functional-reference"),
    Block("emotions", "S", "emotions"),
    Block("emotions", "N", "emotions-reference"),
)


# -- parsing ---------------------------------------------------------------------------


def _fail(where: str, message: str) -> None:
    raise PlanError(f"{where}: {message}")


def _check_keys(where: str, table: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    for k in table:
        if k not in allowed:
            _fail(where, f"unknown field {k!r}; allowed: {', '.join(allowed)}")


def _block(where: str, raw: Any, study_root: Path | None) -> Block:
    if not isinstance(raw, Mapping):
        _fail(where, "must be a [[blocks]] table with task = \"...\"")
    _check_keys(where, raw, BLOCK_FIELDS)
    if "task" not in raw:
        _fail(where, "task is missing; add task = \"functional\" (a BIDS label)")
    try:
        task = check_label("task", raw["task"] if isinstance(raw["task"], str) else repr(raw["task"]))
        acq = check_label("acq", raw.get("acq"), optional=True)
    except LabelError as e:
        _fail(where, str(e))
    protocol, seed, duration = raw.get("protocol"), raw.get("seed"), raw.get("duration")
    if protocol is not None:
        if not isinstance(protocol, str) or not protocol:
            _fail(where, f"protocol must be a protocol name like \"functional\", got {protocol!r}")
        try:
            load_protocol(protocol, study_root=study_root)
        except ProtocolError as e:
            _fail(where, f"protocol: {e}")
    try:
        if seed is not None:
            seed = check_seed(seed)
        if duration is not None:
            duration = check_duration(duration if not isinstance(duration, bool) else "true")
    except MimicsyncError as e:
        _fail(where, str(e))
    if protocol is None and duration is None:
        _fail(where, "give protocol = \"...\" or, for a plain recording, duration = <seconds>")
    devices = raw.get("devices", {})
    if not isinstance(devices, Mapping):
        _fail(where, "devices must be a table like { require = [] }")
    return Block(task, acq, protocol, seed, float(duration) if duration is not None else None, dict(devices))


def parse_visit_plan(data: Mapping[str, Any], source: Path | str | None = None,
                     study_root: Path | str | None = None) -> VisitPlan:
    """Validate a parsed plan document (protocol names are checked against the study)."""
    path = Path(source) if source is not None else None
    file = path.name if path is not None else "<plan>"
    root = Path(study_root) if study_root is not None else None
    _check_keys(file, data, TOP_FIELDS)
    fmt = data.get("format")
    if fmt != FORMAT_VERSION or isinstance(fmt, bool):
        _fail(file, f"format must be {FORMAT_VERSION}, got {fmt!r}; add format = {FORMAT_VERSION} at the top")
    name = data.get("name", path.stem if path is not None else "visit")
    if not isinstance(name, str) or not name:
        _fail(file, f"name must be a non-empty string, got {name!r}")
    description = data.get("description", "")
    if not isinstance(description, str):
        _fail(file, "description must be a string")
    language = data.get("language", "en")
    if language not in LANGUAGES:
        _fail(file, f"language must be one of {', '.join(LANGUAGES)}, got {language!r}")
    bell = data.get("bell", False)
    if not isinstance(bell, bool):
        _fail(file, f"bell must be true or false, got {bell!r}")
    raw_devices = data.get("devices", {})
    if not isinstance(raw_devices, Mapping):
        _fail(file, "devices must be a [devices] table")
    try:
        devices = DeviceSetup.from_dict(raw_devices)
    except SetupError as e:
        _fail(file, str(e))
    raw_blocks = data.get("blocks")
    if not isinstance(raw_blocks, list) or not raw_blocks:
        _fail(file, "blocks is missing; add one or more [[blocks]] tables")
    blocks = []
    for i, raw in enumerate(raw_blocks, start=1):
        label = f"{raw.get('task')}/{raw.get('acq')}" if isinstance(raw, Mapping) and raw.get("acq") else \
            (raw.get("task") if isinstance(raw, Mapping) else None)
        blocks.append(_block(f"{file}: block {i}" + (f" ({label})" if label else ""), raw, root))
    plan = VisitPlan(name, tuple(blocks), devices, description, language, bell, path, root)
    for i, b in enumerate(plan.blocks, start=1):
        try:
            plan.block_setup(b)
        except SetupError as e:
            _fail(f"{file}: block {i} ({b.label})", str(e).split(": ", 1)[-1])
    return plan


def loads_visit_plan(text: str, source: Path | str | None = None,
                     study_root: Path | str | None = None) -> VisitPlan:
    name = Path(source).name if source is not None else "<plan>"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise PlanError(f"{name}: not valid TOML: {e}; fix the syntax there") from None
    return parse_visit_plan(data, source, study_root)


def find_visit_plan(name_or_path: str | Path, study_root: Path | str | None = None) -> Path:
    """A plan file by path, or by name in ``<study_root>/plans/``."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists() or study_root is None:
        return p
    return Path(study_root) / PLANS_DIR / f"{p.name}.toml"


def load_visit_plan(name_or_path: str | Path, study_root: Path | str | None = None) -> VisitPlan:
    """Load and validate a plan; a file in ``<root>/plans/`` sees that study's protocols."""
    path = find_visit_plan(name_or_path, study_root)
    if study_root is None and path.parent.name == PLANS_DIR:
        study_root = path.parent.parent
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise PlanError(f"{path.name}: cannot read {path}: {e.strerror}; check the path "
                        "(`mimicsync plan create` writes one)") from None
    except UnicodeDecodeError as e:
        raise PlanError("plan", f"{path} is not UTF-8 text (byte {e.object[e.start]:#04x} at "
                        f"position {e.start})", "save the file as UTF-8") from None
    return loads_visit_plan(text, path, study_root)


def dumps_visit_plan(plan: VisitPlan) -> str:
    return toml_writer.dumps(plan.to_dict())


def dump_visit_plan(plan: VisitPlan, path: Path | str, overwrite: bool = False) -> Path:
    """Write ``plan``; an existing file is kept unless ``overwrite`` (plans are study records)."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise PlanError("plan", f"{path} exists", "choose another file or overwrite it",
                        code=ErrorCode.EXISTS, options=(("overwrite", ""),))
    path.parent.mkdir(parents=True, exist_ok=True)
    from mimicsync.dataset.study_tree import atomic_write_text
    atomic_write_text(path, dumps_visit_plan(plan))
    return path


def parse_block_spec(spec: str) -> Block:
    """``TASK[:ACQ]=PROTOCOL[@SEED]`` or ``TASK[:ACQ]=<seconds>s`` (a plain recording)."""
    how = "write TASK[:ACQ]=PROTOCOL[@SEED] (e.g. emotions:S=emotions@7) or TASK[:ACQ]=60s"
    left, eq, right = spec.partition("=")
    if not eq or not left or not right:
        raise PlanError("block", f"'{spec}' is not a block", how)
    task, _, acq = left.partition(":")
    try:
        check_label("task", task)
        check_label("acq", acq or None, optional=True)
    except LabelError as e:
        raise PlanError("block", f"{e.field}: {e.problem}", e.fix) from None
    protocol, at, seed = right.partition("@")
    if at and not seed.isdigit():
        raise PlanError("block", f"seed '{seed}' in '{spec}' must be a whole number", how)
    try:
        if right.endswith("s") and right[:-1].replace(".", "", 1).isdigit():
            return Block(task, acq or None, duration=float(right[:-1]))
        return Block(task, acq or None, protocol, int(seed) if at else None)
    except MimicsyncError as e:
        raise PlanError("block", f"{e.field} in '{spec}': {e.problem}", e.fix) from None
