"""How the operator app says what went wrong: library errors with fields as its labels.

:class:`~mimicsync.errors.MimicsyncError` names a field in the library's terms (``run``,
``camera``) and the settings that would fix it as ``(field, value)`` pairs. The command
line shows those as flags (:mod:`mimicsync.cli.errors`); the window shows them as the
controls the operator sees, from the two tables here, so no message text is rewritten.
"""

from __future__ import annotations

from mimicsync.errors import MimicsyncError

# library field -> the label of its control in the window
LABELS = {
    "root": "Study root", "participant": "Participant", "session": "Session", "task": "Task",
    "acq": "Acquisition", "run": "Run", "stream": "Streams", "require": "Required",
    "camera": "Camera", "camera serial": "Camera serial", "duration": "Duration",
    "min free disk": "Minimum free disk", "seed": "Seed", "protocol": "Protocol",
    "language": "Language", "plan": "Plan", "block": "Block", "earlier": "Earlier recording",
    "resume": "Resume", "width": "Width", "height": "Height", "fps": "Frame rate",
    "jpeg quality": "JPEG quality", "led box": "LED box", "file": "File",
}

# (field, value) a fix asks for -> what the operator does in the window
OPTIONS = {
    ("camera", "sim"): "choose camera 'Simulated'",
    ("camera", "none"): "camera 'None'",
    ("camera", ""): "a camera in Setup",
    ("stream", ""): "tick Record for a stream",
    ("require", ""): "untick Required",
    ("force", ""): "record anyway",
}


def option_words(field: str, value: str = "") -> str:
    """A setting as the operator makes it in the window."""
    said = OPTIONS.get((field, value))
    if said is not None:
        return said
    label = LABELS.get(field, field)
    return f"set {label} to {value}" if value else f"set {label}"


def render(e: BaseException) -> str:
    """An exception in words an operator can act on (our errors already are)."""
    if isinstance(e, MimicsyncError):
        return e.render(LABELS, option_words)
    if isinstance(e, (ValueError, OSError, RuntimeError)):
        return str(e)
    return f"unexpected {type(e).__name__}: {e} (please report it)"
