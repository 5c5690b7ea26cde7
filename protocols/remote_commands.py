"""The remote-control command language: LabRecorder's lines, plus a few of our own.

Experiment programs (PsychoPy, MATLAB, Unity) drive LabRecorder through its remote
control socket with plain text lines: ``select all``, ``select none``, ``update``,
``filename {root:…} {template:…} {participant:…} {session:…} {task:…} {run:…}
{acquisition:…} {modality:…}``, ``start``, ``stop``. LabRecorder trims each line,
compares ``start``/``stop``/``update`` exactly and reads each ``{option:value}`` with
option letters only (case-insensitive) and a value without ``{ } ? * | < > "`` or line
breaks (so Windows paths like ``C:\\data\\my study`` pass). We accept the same words so
existing clients work unchanged, and add ``status``, ``annotate TEXT`` and ``protocol
NAME [seed]``. This module only turns one line into a :class:`Command` or a
:class:`MimicsyncError`; it knows nothing of sockets or recorders, so it is tested on its own.

Unlike LabRecorder, which ignores what it does not understand, a misspelt command or
``filename`` option is an error reply: a script that checks replies learns of it, and
one that does not loses nothing (nothing is changed by a refused line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mimicsync.errors import MimicsyncError

MAX_LINE_BYTES = 64 * 1024  # longer lines are refused (a 1 MB line is garbage, not a command)

FILENAME_KEYS = ("root", "template", "participant", "session", "task", "run", "acquisition",
                 "modality")
COMMANDS = ("select all", "select none", "update", "filename", "start", "stop", "status",
            "annotate", "protocol")

# LabRecorder's own option syntax: {letters:value}, value free of {}?*|<>" and line breaks.
_OPTION = re.compile(r'\{([A-Za-z]+):([^{}\n\r?*|<>"]+)\}')
_LOOSE = re.compile(r"\{([^{}]*)\}")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Command:
    """One parsed line: ``name`` is a word of :data:`COMMANDS` (``select`` keeps its argument)."""

    name: str
    text: str = ""  # annotate: the note; protocol: the protocol name
    seed: int | None = None  # protocol: trial order seed
    fields: dict[str, str] = field(default_factory=dict)  # filename: option -> raw value


def decode_line(raw: bytes) -> str:
    """The text of one received line; binary data is refused whole.

    Parameters
    ----------
    raw : bytes
        The line without its ``\n`` (a trailing ``\r`` is dropped here).

    Returns
    -------
    str
        The decoded text.

    Raises
    ------
    MimicsyncError
        Field ``line``: longer than :data:`MAX_LINE_BYTES`, not UTF-8, or holding control
        characters other than tab.
    """
    if len(raw) > MAX_LINE_BYTES:
        raise overlong_error(len(raw))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MimicsyncError("line", f"{len(raw)} bytes that are not UTF-8 text (binary data?)",
                             "send text commands, one per line, e.g. 'start\\n'") from None
    text = text.removesuffix("\r")
    if _CONTROL.search(text):
        raise MimicsyncError("line", "contains control characters (binary data?)",
                             "send text commands, one per line, e.g. 'start\\n'")
    return text


def overlong_error(n: int) -> MimicsyncError:
    return MimicsyncError("line", f"longer than {MAX_LINE_BYTES} bytes ({n} or more)",
                          "send one short command per line, ending in a newline")


def parse_command(text: str) -> Command:
    """The :class:`Command` of one text line.

    Parameters
    ----------
    text : str
        A decoded line (surrounding blanks are ignored; the command word is case-insensitive).

    Returns
    -------
    Command
        ``name`` one of :data:`COMMANDS`; ``fields``, ``text`` and ``seed`` as the command takes.

    Raises
    ------
    MimicsyncError
        An unknown command (field ``command``) or bad arguments (field: the command or option).
    """
    line = text.strip()
    word, _, rest = line.partition(" ")
    word, rest = word.lower(), rest.strip()
    if word == "select":
        which = " ".join(rest.lower().split())
        if which not in ("all", "none"):
            raise MimicsyncError("select", f"expected 'all' or 'none', got {rest!r}",
                                 "send 'select all' (the streams listed now) or 'select none'")
        return Command(f"select {which}")
    if word in ("update", "start", "stop", "status"):
        if rest:
            raise MimicsyncError(word, f"takes no arguments, got {rest!r}", f"send just '{word}'")
        return Command(word)
    if word == "filename":
        return Command("filename", fields=parse_filename(rest))
    if word == "annotate":
        if not rest:
            raise MimicsyncError("annotate", "no text", "send 'annotate TEXT', e.g. 'annotate block 2 start'")
        return Command("annotate", text=rest)
    if word == "protocol":
        return _parse_protocol(rest)
    shown = line if len(line) <= 40 else line[:40] + "…"
    raise MimicsyncError("command", f"unknown command {shown!r}",
                         "use one of: " + ", ".join(COMMANDS))


def _parse_protocol(rest: str) -> Command:
    parts = rest.split()
    if not parts or len(parts) > 2:
        raise MimicsyncError("protocol", f"expected a name and an optional seed, got {rest!r}",
                             "send 'protocol NAME [SEED]', e.g. 'protocol emotions 7'")
    seed = None
    if len(parts) == 2:
        if not re.fullmatch(r"\d{1,10}", parts[1]):
            raise MimicsyncError("seed", f"{parts[1]!r} is not a whole number >= 0",
                                 "send 'protocol NAME SEED' with SEED like 7, or no seed for a fresh one")
        seed = int(parts[1])
    return Command("protocol", text=parts[0], seed=seed)


def parse_filename(rest: str) -> dict[str, str]:
    """The ``{option:value}`` pairs of a ``filename`` line.

    Parameters
    ----------
    rest : str
        The line after the word ``filename``.

    Returns
    -------
    dict of str to str
        Option name (lower case, one of :data:`FILENAME_KEYS`) to its value (stripped).

    Raises
    ------
    MimicsyncError
        Text outside the pairs, an unknown option, an option given twice, or an empty or
        forbidden value: the whole line is refused.
    """
    found: dict[str, str] = {}
    pos = 0
    for m in _OPTION.finditer(rest):
        _check_between(rest[pos:m.start()])
        key, value = m.group(1).lower(), m.group(2).strip()
        if key not in FILENAME_KEYS:
            raise MimicsyncError("filename", f"unknown option {{{m.group(1)}:…}}",
                                 "use " + ", ".join(f"{{{k}:…}}" for k in FILENAME_KEYS))
        if key in found:
            raise MimicsyncError(key, "given twice in one filename command", "give each option once")
        if not value:
            raise _bad_option(m.group(0))
        found[key] = value
        pos = m.end()
    _check_between(rest[pos:])
    if not found:
        raise MimicsyncError("filename", "no {option:value} given",
                             "send e.g. 'filename {participant:07} {session:01} {task:emotions}'")
    return found


def _check_between(gap: str) -> None:
    if not gap.strip():
        return
    loose = _LOOSE.search(gap)
    if loose is not None:
        raise _bad_option(loose.group(0))
    raise MimicsyncError("filename", f"unexpected text {gap.strip()[:40]!r} outside {{option:value}}",
                         "write every option as {option:value}, e.g. {participant:07}")


def _bad_option(token: str) -> MimicsyncError:
    key, colon, value = token[1:-1].partition(":")
    if not colon or not re.fullmatch(r"[A-Za-z]+", key.strip()):
        return MimicsyncError("filename", f"{token[:40]!r} is not {{option:value}}",
                              "write e.g. {participant:07} (option letters only, then a colon)")
    if not value.strip():
        return MimicsyncError(key.lower(), "empty value", f"give a value, e.g. {{{key}:01}}")
    return MimicsyncError(key.lower(), f"{value[:40]!r} contains a character LabRecorder does not "
                          "allow in values ({ } ? * | < > \" or a line break)", "remove it")


def ok(text: str) -> str:
    """A success reply (one line, no newline)."""
    return _one_line(f"OK {text}")


def error_reply(e: MimicsyncError) -> str:
    """``ERROR <field>: <problem>; <fix>`` on one line."""
    return _one_line(f"ERROR {e}")


def _one_line(text: str) -> str:
    return re.sub(r"[\r\n]+", " ", text)
