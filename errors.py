"""The one error type of mimicsync, and the stop reasons of a recording.

Every failure a user can act on is a :class:`MimicsyncError` carrying three parts:

- ``field``: what was wrong, in the library's own names (``participant``, ``root``,
  ``stream``, ``camera``, ``file``, ...), never a command-line flag or a GUI label;
- ``problem``: what is wrong with it;
- ``fix``: what to do, in plain words.

A fix that points at a setting either names it in braces, by the library's name
(``"close that program or choose another {port}"``), or says it in words and lists it in
``options`` as ``(field, value)`` pairs when a value matters (``("camera", "sim")`` for
"use the simulated camera"). The command line and the operator app each render the field,
the braced names and the options in their own words
(:func:`mimicsync.cli.errors.render`, :func:`mimicsync.gui.words.render`): ``--participant``
on the terminal, "Participant" in the window. Like BrainFlow's ``BrainFlowError``, each
error also carries a :class:`ErrorCode`, so a script can tell kinds apart without parsing
text; like MNE's ``_validate_type``/``_check_option``, :func:`check_option` and
:func:`check_number` give every bad argument the same shaped message.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Callable, Iterable, Sequence


class ErrorCode(enum.Enum):
    """What kind of failure: stable names a script can test."""

    BAD_VALUE = "bad_value"  # an argument, label, or file content is not acceptable
    NOT_FOUND = "not_found"  # a file, stream or device that should be there is not
    EXISTS = "exists"  # the target exists and is never overwritten
    DEVICE = "device"  # a camera or amplifier failed
    REFUSED = "refused"  # the evidence is too weak to give a trustworthy result
    IO = "io"  # the disk or the file system failed (full disk, permissions)
    STATE = "state"  # the action does not fit the current state (not recording, ...)


class MimicsyncError(Exception):
    """A failure a user can act on: ``field``, ``problem``, ``fix`` and a ``code``.

    ``str(error)`` is ``"field: problem; fix"`` (the fields the library uses). Front ends
    render the field in their own words with :meth:`render`.

    Parameters
    ----------
    field : str
        The library's name of what was wrong (``"participant"``, ``"file"``, ...).
    problem : str
        What is wrong with it, e.g. ``"'a b' has a space"``.
    fix : str
        What to do, in plain words (no command-line flags).
        Given only ``field``, it is read as the one-line form ``"field: problem; fix"``.
    code : ErrorCode, optional
        The kind of failure; defaults to the class's :attr:`default_code`.
    options : sequence of (str, str), optional
        Settings that would fix it, as ``(field, value)`` (``("camera", "sim")``,
        ``("force", "")``): a front end shows them as its own controls
        (``--camera sim``, "choose camera Simulated"). The plain ``fix`` already says them
        in words, so ``str(error)`` leaves them out.
    """

    default_code = ErrorCode.BAD_VALUE

    def __init__(self, field: str, problem: str | None = None, fix: str = "", *,
                 code: ErrorCode | None = None,
                 options: Sequence[tuple[str, str]] = ()) -> None:
        if problem is None:  # the one-line form "field: problem; fix"
            field, problem, fix = _split(field)
        self.field, self.problem, self.fix = field, problem, fix
        self.code = code or self.default_code
        self.options = tuple(options)
        super().__init__(self.render())

    def render(self, name_of: dict[str, str] | None = None,
               option_words: Callable[[str, str], str] | None = None) -> str:
        """One line, with ``field`` and every ``{name}`` in the fix renamed through
        ``name_of`` (a name without an entry stays as it is, without braces).

        ``option_words(field, value)`` says one of :attr:`options` in a front end's words;
        given, the options follow the fix in parentheses.
        """
        names = name_of or {}
        field = names.get(self.field, self.field)
        head = f"{field}: {self.problem}" if field else self.problem
        fix = _NAME.sub(lambda m: names.get(m.group(1), m.group(1)), self.fix)
        if option_words is not None and self.options:
            said = " or ".join(option_words(f, v) for f, v in self.options)
            fix = f"{fix} ({said})" if fix else said
        return f"{head}; {fix}" if fix else head


_NAME = re.compile(r"\{([a-z][a-z0-9 _-]*)\}")  # a setting named in a fix: {port}


def _split(message: str) -> tuple[str, str, str]:
    """``"field: problem; fix"`` → its parts; a field is one short word-like name."""
    field, sep, rest = message.partition(": ")
    if not sep or len(field) > 40 or not all(c.isalnum() or c in "_-./ " for c in field):
        field, rest = "", message
    problem, sep, fix = rest.rpartition("; ")
    return (field, problem, fix) if sep else (field, rest, "")


def check_option(field: str, value: object, allowed: Iterable[object], *,
                 fix: str | None = None) -> None:
    """Raise :class:`MimicsyncError` unless ``value`` is one of ``allowed``."""
    allowed = list(allowed)
    if value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise MimicsyncError(field, f"{value!r} is not one of {choices}",
                             fix or f"choose one of {choices}")


def check_number(field: str, value: float, *, minimum: float | None = None,
                 maximum: float | None = None, strict_minimum: bool = False,
                 integer: bool = False, unit: str = "") -> float:
    """``value`` as a finite number within the bounds, or a one-line error naming them.

    Parameters
    ----------
    field : str
        The library's name of the value (``"duration"``, ``"seed"``...).
    value : float
        The value to check; NaN and infinity are never accepted.
    minimum, maximum : float, optional
        Inclusive bounds (``strict_minimum`` makes the lower one exclusive).
    integer : bool
        Require a whole number.
    unit : str
        Shown after the bounds in the message (``"s"``, ``"GiB"``).

    Returns
    -------
    float
        ``value`` (an ``int`` when ``integer``).

    Raises
    ------
    MimicsyncError
        With ``code`` :attr:`ErrorCode.BAD_VALUE`.
    """
    u = f" {unit}" if unit else ""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise MimicsyncError(field, f"{value!r} is not a number", "give a number") from None
    if not math.isfinite(v):
        raise MimicsyncError(field, f"{value!r} is not a finite number", "give a finite number")
    if integer and v != int(v):
        raise MimicsyncError(field, f"{value!r} is not a whole number", "give a whole number")
    low_bad = minimum is not None and (v <= minimum if strict_minimum else v < minimum)
    if low_bad or (maximum is not None and v > maximum):
        if minimum is not None and maximum is not None:
            rng = f"between {_num(minimum)} and {_num(maximum)}{u}"
        elif minimum is not None:
            rng = f"{'more than' if strict_minimum else 'at least'} {_num(minimum)}{u}"
        else:
            rng = f"at most {_num(maximum)}{u}"
        raise MimicsyncError(field, f"{value!r} is out of range", f"give a value {rng}")
    return int(v) if integer else v


MAX_DURATION_S = 7 * 24 * 3600.0  # a week: longer is a typo, and would never stop
MAX_SEED = 2**32 - 1  # seeds are 32 bits: exact in JSON and in every HDF5 attribute


def check_duration(value: float, field: str = "duration") -> float:
    """A recording length in seconds: finite, more than 0, at most a week."""
    return check_number(field, value, minimum=0, strict_minimum=True, maximum=MAX_DURATION_S,
                        unit="s")


def check_seed(value: int, field: str = "seed") -> int:
    """A trial-order seed: a whole number that fits 32 bits."""
    if isinstance(value, bool):
        raise MimicsyncError(field, f"{value!r} is not a whole number", "give a whole number")
    return check_number(field, value, minimum=0, maximum=MAX_SEED, integer=True)


def _num(x: float) -> str:
    """A bound as typed: whole numbers in full (4294967295, not 4.29497e+09)."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e16 else f"{x:g}"


class StopReason(enum.Enum):
    """Why a recording stopped. ``expected`` ones need no warning for the operator."""

    OPERATOR = "stopped by operator"
    PROTOCOL_DONE = "protocol completed"
    DURATION = "duration reached"
    PROTOCOL_ABORTED = "protocol aborted by the operator"
    REMOTE = "stopped by remote control"
    REMOTE_CLOSED = "remote control server closed"
    APP_CLOSED = "app closed by operator"
    SIGNAL = "stopped by a signal"
    DISK_LOW = "disk nearly full"
    DISK_FULL = "disk full"
    WRITER_FAILED = "writer failed"
    NO_MARKERS = "protocol marker stream was not subscribed"

    @property
    def expected(self) -> bool:
        return self in (StopReason.OPERATOR, StopReason.PROTOCOL_DONE, StopReason.DURATION,
                        StopReason.APP_CLOSED, StopReason.SIGNAL, StopReason.PROTOCOL_ABORTED,
                        StopReason.REMOTE, StopReason.REMOTE_CLOSED)

    def text(self, detail: str = "") -> str:
        """The readable form stored in the file: ``"disk nearly full (0.40 GiB free)"``."""
        return f"{self.value} ({detail})" if detail else self.value
