"""One error, three renderings: the library's words, the command line's flags, the window's
labels; and no library message names a command-line flag."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from mimicsync.acquisition.recorder_setup import RecorderError
from mimicsync.cli.errors import render as cli_render
from mimicsync.errors import MimicsyncError, StopReason, check_number

PACKAGE = Path(__file__).resolve().parents[1]
LIBRARY = ("acquisition", "dataset", "sync", "protocols")
FLAG = re.compile(r"(?<![\w-])--[a-z]")


def _raised_strings(path: Path) -> list[tuple[int, str]]:
    """String constants inside ``raise`` statements (docstrings and comments are free)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Raise) and node.exc is not None:
            for sub in ast.walk(node.exc):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                    out.append((sub.lineno, sub.value))
    return out


def test_library_errors_never_name_a_command_line_flag():
    found = [f"{p.relative_to(PACKAGE)}:{line}: {text}"
             for pkg in LIBRARY for p in sorted((PACKAGE / pkg).rglob("*.py"))
             for line, text in _raised_strings(p) if FLAG.search(text)]
    assert not found, "\n".join(found)


def test_one_error_rendered_by_the_library_the_cli_and_the_window():
    pytest.importorskip("PySide6")
    from mimicsync.gui.words import render as gui_render
    e = RecorderError("require", "required stream(s) not found: type=EMG",
                      "start the device or stop requiring it", options=(("require", ""),))
    assert str(e) == "require: required stream(s) not found: type=EMG; start the device or stop requiring it"
    assert cli_render(e) == ("--require: required stream(s) not found: type=EMG; "
                             "start the device or stop requiring it (--require)")
    shown = gui_render(e)
    assert shown.startswith("Required: required stream(s)") and shown.endswith("(untick Required)")
    assert "--" not in shown


def test_camera_fix_names_the_setting_in_each_front_end():
    pytest.importorskip("PySide6")
    from mimicsync.acquisition.realsense import no_camera_error
    from mimicsync.gui.words import render as gui_render
    e = no_camera_error()
    assert "--camera sim" in cli_render(e) and "--" not in str(e)
    assert "Simulated" in gui_render(e) and "--" not in gui_render(e)


def test_stop_reasons_have_a_readable_form_and_say_whether_to_warn():
    assert StopReason.DISK_LOW.text("0.40 GiB free") == "disk nearly full (0.40 GiB free)"
    assert not StopReason.DISK_LOW.expected and not StopReason.WRITER_FAILED.expected
    assert StopReason.OPERATOR.expected and StopReason.PROTOCOL_DONE.text() == "protocol completed"


@pytest.mark.parametrize("value, kw, message", [
    (float("nan"), {}, "duration: nan is not a finite number; give a finite number"),
    (-5, {"minimum": 0, "strict_minimum": True}, "duration: -5 is out of range; give a value more than 0"),
    (2.5, {"integer": True}, "duration: 2.5 is not a whole number; give a whole number"),
    ("abc", {}, "duration: 'abc' is not a number; give a number"),
])
def test_check_number_gives_one_shaped_message(value, kw, message):
    with pytest.raises(MimicsyncError) as e:
        check_number("duration", value, **kw)
    assert str(e.value) == message


def test_a_setting_named_in_braces_is_a_flag_on_the_cli_and_plain_in_the_library():
    e = MimicsyncError("port", "4000 is in use", "close that program or choose another {port}")
    assert str(e) == "port: 4000 is in use; close that program or choose another port"
    assert cli_render(e) == "--port: 4000 is in use; close that program or choose another --port"
