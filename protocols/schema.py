"""Load, validate and write protocol TOML files.

Protocols are data so a lab can add or tune one without touching code; the price is
that a typo must be caught at load time, before a participant sits in front of the
camera. Every problem raises :class:`ProtocolError` with one line naming the file, the
step, the field and the fix, e.g.::

    emotions.toml: step 3 (fear): timings.hold must be a positive number of seconds, got -2

Unknown fields are errors too (a misspelt ``hodl`` must not silently fall back to the
default). Lookup by name prefers ``<study_root>/protocols/<name>.toml`` over the files
shipped next to this module, so a study overrides a shipped protocol by reusing its name.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

from mimicsync.errors import MimicsyncError
from mimicsync.protocols import toml_writer
from mimicsync.protocols.model import (
    FORMAT_VERSION,
    LANGUAGES,
    ORDERS,
    TIMING_FIELDS,
    Defaults,
    Protocol,
    Step,
    TapBlock,
    Text,
    Timings,
)

SHIPPED_DIR = Path(__file__).resolve().parent
MAX_SECONDS = 300.0  # larger values are nearly always milliseconds typed as seconds
MAX_REPETITIONS = 100
MAX_TAPS = 20
MEDIA_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".mp4", ".webm", ".mov", ".avi", ".mkv")

TOP_FIELDS = ("format", "name", "title", "description", "order", "repeat_instruction", "defaults", "tap_block", "steps")
DEFAULTS_FIELDS = ("timings", "repetitions")
TAP_FIELDS = ("count", "interval", "instruction", "after", "text")
STEP_FIELDS = ("id", "label", "instruction", "media", "timings", "repetitions")

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class ProtocolError(MimicsyncError, ValueError):
    """A protocol file is missing, unreadable or invalid; the message says how to fix it."""

    def __init__(self, message: str, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


# -- error reporting -------------------------------------------------------------------


def _show(v: Any) -> str:
    """A value as the user typed it in TOML, for 'got ...'."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return f"{v:g}" if isinstance(v, float) else str(v)
    if isinstance(v, str):
        return toml_writer.string_literal(v)
    if isinstance(v, Mapping):
        return "a table"
    if isinstance(v, list):
        return "an array"
    return type(v).__name__


class _Where:
    """Where we are in the file; builds the one-line error."""

    def __init__(self, file: str, path: Path | None, step: str | None = None) -> None:
        self.file, self.path, self.step = file, path, step

    def at_step(self, number: int, step_id: Any) -> "_Where":
        label = f"step {number}" + (f" ({step_id})" if isinstance(step_id, str) and step_id else "")
        return _Where(self.file, self.path, label)

    def fail(self, message: str) -> NoReturn:
        prefix = f"{self.file}: " + (f"{self.step}: " if self.step else "")
        raise ProtocolError(prefix + message, self.path)


def _check_keys(where: _Where, table: Mapping[str, Any], allowed: tuple[str, ...], prefix: str = "") -> None:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            where.fail(f"unknown field '{prefix}{key}'{hint}; allowed: {', '.join(allowed)}")


def _require(where: _Where, table: Mapping[str, Any], key: str, prefix: str, how: str) -> Any:
    if key not in table:
        where.fail(f"{prefix}{key} is missing; {how}")
    return table[key]


# -- field checks ----------------------------------------------------------------------


def _table(where: _Where, v: Any, field: str, example: str) -> Mapping[str, Any]:
    if not isinstance(v, Mapping):
        where.fail(f"{field} must be a table like {example}, got {_show(v)}")
    return v


def _seconds(where: _Where, v: Any, field: str, positive: bool) -> float:
    kind = "a positive" if positive else "a non-negative"
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0 or (positive and v == 0):
        where.fail(f"{field} must be {kind} number of seconds, got {_show(v)}")
    if v > MAX_SECONDS:
        where.fail(f"{field} must be at most {MAX_SECONDS:g} s (timings are seconds, not milliseconds), got {_show(v)}")
    return float(v)


def _integer(where: _Where, v: Any, field: str, maximum: int, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= maximum:
        where.fail(f"{field} must be a whole number of {what} from 1 to {maximum}, got {_show(v)}")
    return v


def _nonempty(where: _Where, v: Any, field: str) -> str:
    if not isinstance(v, str) or not v.strip():
        where.fail(f"{field} must be a non-empty string, got {_show(v)}")
    return v


def _slug(where: _Where, v: Any, field: str) -> str:
    if not isinstance(v, str) or not _SLUG.match(v):
        where.fail(f"{field} must be lower-case letters, digits, '-' or '_' (e.g. \"smile-open\"), got {_show(v)}")
    return v


def _text(where: _Where, v: Any, field: str) -> Text:
    example = "{ " + ", ".join(f'{lang} = "..."' for lang in LANGUAGES) + " }"
    t = _table(where, v, field, example)
    _check_keys(where, t, LANGUAGES, f"{field}.")
    for lang in LANGUAGES:
        _require(where, t, lang, f"{field}.", f"add the {lang!r} text: {field} = {example}")
        _nonempty(where, t[lang], f"{field}.{lang}")
    return Text(**{lang: t[lang] for lang in LANGUAGES})


def _timings(where: _Where, v: Any, fallback: Timings | None, how_missing: str, field: str = "timings") -> Timings:
    example = "{ " + ", ".join(f"{f} = 2.0" for f in TIMING_FIELDS) + " }"
    t = _table(where, v, field, example)
    _check_keys(where, t, TIMING_FIELDS, f"{field}.")
    values = {}
    for f in TIMING_FIELDS:
        if f in t:
            values[f] = _seconds(where, t[f], f"{field}.{f}", positive=(f == "hold"))
        elif fallback is not None:
            values[f] = getattr(fallback, f)
        else:
            where.fail(f"{field}.{f} is missing; {how_missing}")
    return Timings(**values)


def _media(where: _Where, v: Any, source: Path | None, check_media: bool) -> str:
    rel = _nonempty(where, v, "media")
    p = Path(rel)
    if p.is_absolute():
        where.fail(f"media must be a path relative to the protocol file, got {_show(rel)}")
    if p.suffix.lower() not in MEDIA_SUFFIXES:
        where.fail(f"media must be an image or video ({', '.join(MEDIA_SUFFIXES)}), got {_show(rel)}")
    if check_media and source is not None and not (source.parent / p).is_file():
        where.fail(f"media file {_show(rel)} not found (looked for {source.parent / p}); add the file or remove the field")
    return rel


# -- sections --------------------------------------------------------------------------


def _defaults(where: _Where, v: Any) -> Defaults:
    d = _table(where, v, "defaults", "[defaults] with timings and repetitions")
    _check_keys(where, d, DEFAULTS_FIELDS, "defaults.")
    how = "[defaults] timings must give all of " + ", ".join(TIMING_FIELDS)
    raw_timings = _require(where, d, "timings", "defaults.", how)
    raw_reps = _require(where, d, "repetitions", "defaults.", "add repetitions = 3 to [defaults]")
    return Defaults(
        _timings(where, raw_timings, None, how, field="defaults.timings"),
        _integer(where, raw_reps, "defaults.repetitions", MAX_REPETITIONS, "repetitions"),
    )


def _tap_block(where: _Where, v: Any) -> TapBlock:
    t = _table(where, v, "tap_block", "[tap_block] with " + ", ".join(TAP_FIELDS))
    _check_keys(where, t, TAP_FIELDS, "tap_block.")
    how = f"add it to [tap_block] (fields: {', '.join(TAP_FIELDS)})"
    get = {f: _require(where, t, f, "tap_block.", how) for f in TAP_FIELDS}
    return TapBlock(
        count=_integer(where, get["count"], "tap_block.count", MAX_TAPS, "taps"),
        interval=_seconds(where, get["interval"], "tap_block.interval", positive=True),
        instruction=_seconds(where, get["instruction"], "tap_block.instruction", positive=False),
        after=_seconds(where, get["after"], "tap_block.after", positive=False),
        text=_text(where, get["text"], "tap_block.text"),
    )


def _step(where: _Where, v: Any, defaults: Defaults | None, source: Path | None, check_media: bool) -> Step:
    s = _table(where, v, "the step", '[[steps]] with id = "...", label, instruction, timings')
    _check_keys(where, s, STEP_FIELDS)
    step_id = _slug(where, _require(where, s, "id", "", 'add id = "movement-name"'), "id")
    label = _text(where, _require(where, s, "label", "", "add label = { en = ..., de = ... }"), "label")
    raw_instruction = _require(where, s, "instruction", "", "add instruction = { en = ..., de = ... }")
    instruction = _text(where, raw_instruction, "instruction")
    fallback = defaults.timings if defaults else None
    how = "set it in the step or in [defaults] timings"
    if "timings" in s:
        timings = _timings(where, s["timings"], fallback, how)
    elif fallback is not None:
        timings = fallback
    else:
        where.fail(f"timings is missing; {how}")
    if "repetitions" in s:
        reps = _integer(where, s["repetitions"], "repetitions", MAX_REPETITIONS, "repetitions")
    elif defaults is not None:
        reps = defaults.repetitions
    else:
        where.fail("repetitions is missing; set it in the step or in [defaults]")
    media = _media(where, s["media"], source, check_media) if "media" in s else None
    return Step(step_id, label, instruction, timings, reps, media)


def _check_order(where: _Where, order: str, steps: tuple[Step, ...]) -> None:
    if order != "random-no-repeat":
        return
    counts = Counter({s.id: s.repetitions for s in steps})
    step_id, most = counts.most_common(1)[0]
    total = sum(counts.values())
    if most > (total + 1) // 2:
        where.fail(
            f"order \"random-no-repeat\" is impossible: step {step_id!r} has {most} of {total} trials; "
            'lower its repetitions or use order = "random"'
        )


def parse_protocol(data: Mapping[str, Any], source: Path | str | None = None, check_media: bool = True) -> Protocol:
    """Validate a parsed TOML document and build the :class:`Protocol`.

    ``source`` names the file in messages and anchors relative media paths.
    """
    path = Path(source) if source is not None else None
    where = _Where(path.name if path is not None else "<protocol>", path)
    _check_keys(where, data, TOP_FIELDS)
    fmt = _require(where, data, "format", "", f"add format = {FORMAT_VERSION} at the top")
    if isinstance(fmt, bool) or not isinstance(fmt, int) or fmt != FORMAT_VERSION:
        where.fail(f"format must be {FORMAT_VERSION} (the only version this mimicsync reads), got {_show(fmt)}")
    name = _slug(where, _require(where, data, "name", "", 'add name = "..." (the file name without .toml)'), "name")
    title = _nonempty(where, data.get("title", name), "title")
    description = data.get("description", "")
    if not isinstance(description, str):
        where.fail(f"description must be a string, got {_show(description)}")
    order = data.get("order", "fixed")
    if order not in ORDERS:
        where.fail(f"order must be one of {', '.join(repr(o) for o in ORDERS)}, got {_show(order)}")
    repeat_instruction = data.get("repeat_instruction", True)
    if not isinstance(repeat_instruction, bool):
        where.fail(f"repeat_instruction must be true or false, got {_show(repeat_instruction)}")
    defaults = _defaults(where, data["defaults"]) if "defaults" in data else None
    tap_block = _tap_block(where, _require(where, data, "tap_block", "", "add a [tap_block] table (sync needs taps at both ends)"))
    raw_steps = _require(where, data, "steps", "", "add at least one [[steps]] table")
    if not isinstance(raw_steps, list) or not raw_steps:
        where.fail(f"steps must be one or more [[steps]] tables, got {_show(raw_steps)}")
    steps: list[Step] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(raw_steps, start=1):
        at = where.at_step(number, raw.get("id") if isinstance(raw, Mapping) else None)
        step = _step(at, raw, defaults, path, check_media)
        if step.id in seen:
            at.fail(f"id {step.id!r} is already used by step {seen[step.id]}; step ids must be unique")
        seen[step.id] = number
        steps.append(step)
    _check_order(where, order, tuple(steps))
    return Protocol(name, title, description, order, repeat_instruction, tap_block, tuple(steps), defaults, path)


def loads_protocol(text: str, source: Path | str | None = None, check_media: bool = True) -> Protocol:
    """Parse protocol TOML text (e.g. the copy stored in a recording)."""
    name = Path(source).name if source is not None else "<protocol>"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ProtocolError(f"{name}: not valid TOML: {e}; fix the syntax there", Path(source) if source else None) from None
    return parse_protocol(data, source, check_media)


def load_protocol_file(path: Path | str, check_media: bool = True) -> Protocol:
    """Load one protocol file; its ``name`` must equal the file name (lookup is by name)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ProtocolError(f"{path.name}: cannot read {path}: {e.strerror}; check the path", path) from None
    except UnicodeDecodeError:
        raise ProtocolError(f"{path.name}: not UTF-8 text; save the file as UTF-8", path) from None
    protocol = loads_protocol(text, path, check_media)
    if protocol.name != path.stem:
        raise ProtocolError(
            f"{path.name}: name {protocol.name!r} must match the file name {path.stem!r}; rename the file or the name",
            path,
        )
    return protocol


def available_protocols(study_root: Path | str | None = None) -> dict[str, Path]:
    """Protocol name -> file, study protocols overriding shipped ones of the same name."""
    found = {p.stem: p for p in sorted(SHIPPED_DIR.glob("*.toml"))}
    if study_root is not None:
        found.update({p.stem: p for p in sorted((Path(study_root) / "protocols").glob("*.toml"))})
    return dict(sorted(found.items()))


def load_protocol(name_or_path: str | Path, study_root: Path | str | None = None, check_media: bool = True) -> Protocol:
    """Load a protocol by name (study folder first, then shipped) or by file path.

    Parameters
    ----------
    name_or_path : str | Path
        A protocol name (``"functional"``) or a ``.toml`` file.
    study_root : Path | str, optional
        A study whose ``protocols/`` folder is searched before the shipped protocols.
    check_media : bool
        Check that the images a step names exist.

    Returns
    -------
    Protocol
        The validated protocol.

    Raises
    ------
    ProtocolError
        One line naming the file, step, field and fix.
    """
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or text.endswith(".toml") or "/" in text or "\\" in text:
        return load_protocol_file(name_or_path, check_media)
    found = available_protocols(study_root)
    if text not in found:
        where = f"{Path(study_root) / 'protocols'}/" if study_root is not None else "the study's protocols/ folder"
        raise ProtocolError(
            f"{text}.toml: no protocol named {text!r}; available: {', '.join(found)} (add {text}.toml to {where})"
        )
    return load_protocol_file(found[text], check_media)


# -- writing ---------------------------------------------------------------------------


def _text_dict(t: Text) -> dict[str, str]:
    return {lang: t.get(lang) for lang in LANGUAGES}


def _timings_dict(t: Timings, base: Timings | None) -> dict[str, float]:
    return {f: getattr(t, f) for f in TIMING_FIELDS if base is None or getattr(t, f) != getattr(base, f)}


def protocol_to_dict(p: Protocol) -> dict[str, Any]:
    """The TOML document for ``p``; steps list only what differs from ``[defaults]``."""
    base = p.defaults.timings if p.defaults else None
    data: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "name": p.name,
        "title": p.title,
        "description": p.description,
        "order": p.order,
        "repeat_instruction": p.repeat_instruction,
    }
    if p.defaults is not None:
        data["defaults"] = {"repetitions": p.defaults.repetitions, "timings": _timings_dict(p.defaults.timings, None)}
    tb = p.tap_block
    data["tap_block"] = {
        "count": tb.count, "interval": tb.interval, "instruction": tb.instruction, "after": tb.after,
        "text": _text_dict(tb.text),
    }
    steps = []
    for s in p.steps:
        d: dict[str, Any] = {"id": s.id, "label": _text_dict(s.label), "instruction": _text_dict(s.instruction)}
        if s.media is not None:
            d["media"] = s.media
        if p.defaults is None or s.repetitions != p.defaults.repetitions:
            d["repetitions"] = s.repetitions
        timings = _timings_dict(s.timings, base)
        if timings:
            d["timings"] = timings
        steps.append(d)
    data["steps"] = steps
    return data


def dumps_protocol(p: Protocol) -> str:
    """``p`` as TOML text (comments of the original file are not kept)."""
    return toml_writer.dumps(protocol_to_dict(p))


def dump_protocol(p: Protocol, path: Path | str) -> Path:
    """Write ``p`` to ``path`` (UTF-8). Name the file ``<p.name>.toml`` to load it by name."""
    path = Path(path)
    path.write_text(dumps_protocol(p), encoding="utf-8")
    return path
