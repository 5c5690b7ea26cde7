"""The remote-control command language on its own: LabRecorder's lines, our replies.

The lines are the ones public LabRecorder clients send (PsychoPy/MATLAB helpers), so
parsing matches what those scripts expect; every refusal names a field and a fix.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mimicsync.dataset.layout import LabelError
from mimicsync.errors import MimicsyncError
from mimicsync.protocols.remote_commands import (
    MAX_LINE_BYTES,
    decode_line,
    error_reply,
    parse_command,
    parse_filename,
)
from mimicsync.protocols.remote_control import Naming, apply_filename, as_remote_error


def test_classic_commands_parse_as_labrecorder_reads_them():
    assert parse_command("select all").name == "select all"
    assert parse_command("  SELECT   None ").name == "select none"
    assert parse_command("start").name == "start"
    assert parse_command("stop\t").name == "stop"
    assert parse_command("update").name == "update"
    assert decode_line(b"start\r") == "start"  # Windows clients end lines with \r\n


def test_filename_reads_every_labrecorder_option_including_windows_paths_with_spaces():
    line = (r"filename {root:C:\Users\lab\My Study} {template:exp%n\block_%b.xdf}"
            "{participant:P001} {session:S001} {task:Default} {run:2} {acquisition:A} {modality:eeg}")
    cmd = parse_command(line)
    assert cmd.name == "filename"
    assert cmd.fields == {"root": r"C:\Users\lab\My Study", "template": r"exp%n\block_%b.xdf",
                          "participant": "P001", "session": "S001", "task": "Default",
                          "run": "2", "acquisition": "A", "modality": "eeg"}
    assert parse_filename("{Participant:07}")["participant"] == "07"  # option names ignore case


@pytest.mark.parametrize("rest, field, needle", [
    ("{participnat:07}", "filename", "unknown option"),
    ("{participant:07} {participant:08}", "participant", "twice"),
    ("{participant:}", "participant", "empty value"),
    ("{root:C:\\a?b}", "root", "does not allow"),
    ("participant:07", "filename", "outside"),
    ("{participant:07} junk", "filename", "outside"),
    ("", "filename", "no {option:value}"),
])
def test_a_bad_filename_line_is_refused_whole_naming_the_field(rest, field, needle):
    with pytest.raises(MimicsyncError) as e:
        parse_filename(rest)
    assert e.value.field == field and needle in e.value.problem, str(e.value)
    assert e.value.fix


@pytest.mark.parametrize("line, field", [
    ("select some", "select"), ("start now", "start"), ("annotate", "annotate"),
    ("protocol", "protocol"), ("protocol emotions x", "seed"), ("record", "command"),
])
def test_unknown_or_malformed_commands_name_what_to_send(line, field):
    with pytest.raises(MimicsyncError) as e:
        parse_command(line)
    assert e.value.field == field
    reply = error_reply(e.value)
    assert reply.startswith(f"ERROR {field}: ") and "; " in reply and "\n" not in reply


def test_extra_commands_parse():
    assert parse_command("annotate block 2: eyes closed").text == "block 2: eyes closed"
    p = parse_command("protocol emotions 7")
    assert (p.name, p.text, p.seed) == ("protocol", "emotions", 7)
    assert parse_command("protocol functional").seed is None


@pytest.mark.parametrize("raw", [b"\xff\xfe\x00binary", b"st\x00art", b"\x1b[A"])
def test_binary_lines_are_refused(raw):
    with pytest.raises(MimicsyncError) as e:
        decode_line(raw)
    assert e.value.field == "line"


def test_overlong_line_is_refused():
    with pytest.raises(MimicsyncError) as e:
        decode_line(b"x" * (MAX_LINE_BYTES + 1))
    assert "longer than" in e.value.problem


def test_filename_sets_entities_and_reports_what_it_ignores(tmp_path: Path):
    naming, notes = apply_filename(Naming(tmp_path), parse_filename(
        "{participant:07}{session:01}{task:rest}{acquisition:S}{run:3}{modality:eeg}"
        "{template:exp%n/block_%b.xdf}{root:sub}"))
    assert (naming.participant, naming.session, naming.task, naming.acq, naming.run) == \
        ("07", "01", "rest", "S", 3)
    assert naming.root == tmp_path / "sub"  # a relative root is below the server's root
    assert any("modality 'eeg' ignored" in n for n in notes)
    assert any("template 'exp%n/block_%b.xdf' ignored" in n for n in notes)
    _, notes = apply_filename(naming, {"template": "sub-%p/ses-%s/%m/sub-%p_ses-%s_task-%b_run-%r_%m.xdf"})
    assert "follows BIDS naming" in notes[0]


def test_filename_with_one_bad_field_changes_nothing(tmp_path: Path):
    before = Naming(tmp_path, "07", "01", "rest")
    with pytest.raises(LabelError, match="task"):
        apply_filename(before, {"participant": "08", "task": "resting_state"})
    with pytest.raises(MimicsyncError, match="run"):
        apply_filename(before, {"participant": "08", "run": "two"})
    (tmp_path / "afile").write_text("x")
    with pytest.raises(MimicsyncError, match="is a file"):
        apply_filename(before, {"root": str(tmp_path / "afile" / "x")})


def test_errors_become_one_field_problem_fix_line():
    e = as_remote_error(LabelError("task: 'a_b' is not a BIDS label (remove '_'), e.g. 'ab'"), "filename")
    assert e.field == "task"
    bug = as_remote_error(KeyError("x"), "start")
    assert bug.field == "start" and "unexpected KeyError" in bug.problem and "report" in bug.fix
