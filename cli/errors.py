"""How the command line says what went wrong: one line, fields named as its flags.

Library errors (:class:`mimicsync.errors.MimicsyncError`) name fields in the library's
terms (``participant``, ``stream``); here each becomes the flag a user typed
(``--participant``, ``--stream/--require``). OS errors the user can act on (a file that
exists, a folder without permission) are one line too; anything else is a bug and says
so, with the traceback behind ``--debug``.
"""

from __future__ import annotations

from mimicsync.errors import MimicsyncError

# library field (or option of an error) -> the flag that sets it
FLAGS = {
    "root": "--root", "participant": "--participant", "session": "--session",
    "task": "--task", "acq": "--acq", "run": "--run", "stream": "--stream/--require",
    "require": "--require", "camera": "--camera", "camera serial": "--camera-serial",
    "duration": "--duration", "min free disk": "--min-free-gb", "seed": "--seed",
    "protocol": "--protocol", "language": "--language", "plan": "--plan", "block": "--block",
    "earlier": "--like", "resume": "--resume", "out": "--out", "scheduler": "--scheduler",
    "workers": "--workers", "led box": "--led-box", "width": "--width", "height": "--height",
    "fps": "--fps", "jpeg quality": "--jpeg-quality", "board params": "--param",
    "board": "--board-id", "port": "--port", "bind": "--bind", "force": "--force",
    "update": "--update", "new seed": "--new-seed", "preset": "--preset", "overwrite": "--overwrite",
    "no official": "--no-official", "min confidence": "--min-confidence",
}

# Failures a user can fix, reported as one line with exit code 2.
USER_ERRORS: tuple[type[BaseException], ...] = (
    MimicsyncError, FileExistsError, FileNotFoundError, PermissionError)


def flag(field: str, value: str = "") -> str:
    """A setting as the user types it: ``("camera", "sim")`` → ``--camera sim``."""
    return f"{FLAGS.get(field, field)} {value}".strip()


def render(e: BaseException) -> str:
    """The one line after ``mimicsync: error:``."""
    if isinstance(e, MimicsyncError):
        return e.render(FLAGS, flag)
    return str(e)
