"""Protocol files: shipped ones load, round-trip through TOML, and bad ones fail in one line."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from mimicsync.protocols import toml_writer
from mimicsync.protocols.schema import (
    SHIPPED_DIR,
    ProtocolError,
    available_protocols,
    dump_protocol,
    dumps_protocol,
    load_protocol,
    load_protocol_file,
    loads_protocol,
)

SHIPPED = ["functional", "emotions", "functional-reference", "emotions-reference"]
FUNCTIONAL_IDS = [
    "rest", "forehead", "eyes-gentle", "eyes-tight", "nose", "smile-closed", "smile-open",
    "lip-pucker", "cheeks", "snarl", "depress-lip",
]
EMOTIONS = ["anger", "disgust", "fear", "happiness", "sadness", "surprise"]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_protocols_load_and_frame_with_taps(name: str) -> None:
    p = load_protocol(name)
    assert p.name == name and p.source == SHIPPED_DIR / f"{name}.toml"
    assert p.tap_block.count >= 1  # sync needs taps at both ends
    for s in p.steps:
        assert s.label.en and s.label.de and s.instruction.en and s.instruction.de
        assert s.timings.hold > 0 and s.repetitions >= 1


def test_shipped_contents_follow_the_domain_facts() -> None:
    assert [s.id for s in load_protocol("functional").steps] == FUNCTIONAL_IDS
    assert [s.id for s in load_protocol("functional-reference").steps] == FUNCTIONAL_IDS + ["smile-natural"]
    for name in ("emotions", "emotions-reference"):
        p = load_protocol(name)
        assert [s.id for s in p.steps] == EMOTIONS
        assert all(s.repetitions == 4 for s in p.steps) and p.order.startswith("random")
        assert all(s.timings.total == pytest.approx(6.0) for s in p.steps)  # "a trial is about 6 s"
    assert load_protocol("functional").step("eyes-tight").label.de == "Augen doll zu"


def test_reference_variants_keep_the_base_steps() -> None:
    """Sessions are paired by step number: the electrode-free files must not drift."""
    assert load_protocol("functional-reference").steps[:11] == load_protocol("functional").steps
    assert load_protocol("emotions-reference").steps == load_protocol("emotions").steps


def test_functional_movement_duration_matches_released_clips() -> None:
    p = load_protocol("functional")
    for s in p.steps:
        t = s.timings
        per_movement = t.instruction + s.repetitions * (t.countdown + t.hold + t.relax)
        assert 12.0 <= per_movement <= 28.0, s.id
    assert p.step("forehead").timings.instruction + 3 * 6.5 == pytest.approx(22.5)


@pytest.mark.parametrize("name", SHIPPED)
def test_round_trip_of_shipped_protocols(name: str, tmp_path: Path) -> None:
    p = load_protocol(name)
    assert loads_protocol(dumps_protocol(p)) == p
    again = load_protocol_file(dump_protocol(p, tmp_path / f"{name}.toml"))
    assert again == p and dumps_protocol(again) == dumps_protocol(p)


TRICKY = '''
format = 1
name = "tricky"
title = "Quotes \\" backslash \\\\ tab \\t newline \\n umlaut ä emoji 🙂"
order = "random"

[tap_block]
count = 1
interval = 0.5
instruction = 0
after = 0.25
text = { en = "line one\\nline two", de = 'literal \\ string' }

[[steps]]
id = "a_1"
label = { en = "A", de = "Ä" }
instruction = { en = "x = \\"y\\"", de = "\\u0007bell" }
media = "media/a.png"
timings = { instruction = 1, countdown = 0, hold = 0.1, relax = 1e-3 }
repetitions = 2
'''


def test_round_trip_without_defaults_with_media_and_odd_strings(tmp_path: Path) -> None:
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "a.png").write_bytes(b"\x89PNG")
    src = tmp_path / "tricky.toml"
    src.write_text(TRICKY, encoding="utf-8")
    p = load_protocol(src)
    assert p.defaults is None and p.steps[0].timings.relax == 0.001 and p.steps[0].label.de == "Ä"
    assert p.media_path(p.steps[0]) == tmp_path / "media" / "a.png"
    out = tmp_path / "out" / "tricky.toml"
    out.parent.mkdir()
    assert load_protocol(dump_protocol(p, out), check_media=False) == p


def test_toml_writer_round_trips_and_refuses_what_it_cannot_write() -> None:
    data = {"a": 1, "b": -2.5e-7, "c": True, "d": "é\"\\\x01", "weird key": [1, 2], "t": {"x": {"y": "z"}},
            "arr": [{"k": 1}, {"k": 2, "in": {"q": 0.1}}]}
    assert tomllib.loads(toml_writer.dumps(data)) == data
    with pytest.raises(TypeError):
        toml_writer.dumps({"a": None})


# -- malformed files: exact one-line messages ------------------------------------------


def _broken(tmp_path: Path, name: str, old: str, new: str) -> Path:
    text = (SHIPPED_DIR / f"{name}.toml").read_text(encoding="utf-8")
    assert old in text, f"test setup: {old!r} not in {name}.toml"
    path = tmp_path / f"{name}.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


FEAR = 'instruction = { en = "Show fear: make a frightened face.", de = "Zeigen Sie Angst: Machen Sie ein ängstliches Gesicht." }'
NOSE_DE = ', de = "Rümpfen Sie die Nase." }'

MALFORMED = [
    ("emotions", FEAR, FEAR + "\ntimings = { hold = -2 }",
     "emotions.toml: step 3 (fear): timings.hold must be a positive number of seconds, got -2"),
    ("functional", 'id = "forehead"', 'id = "forehead"\ntimings = { hodl = 4 }',
     "functional.toml: step 2 (forehead): unknown field 'timings.hodl' (did you mean 'hold'?); "
     "allowed: instruction, countdown, hold, relax"),
    ("functional", 'id = "nose"', 'id = "nose"\nrepetiton = 2',
     "functional.toml: step 5 (nose): unknown field 'repetiton' (did you mean 'repetitions'?); "
     "allowed: id, label, instruction, media, timings, repetitions"),
    ("functional", NOSE_DE, " }",
     "functional.toml: step 5 (nose): instruction.de is missing; add the 'de' text: "
     'instruction = { en = "...", de = "..." }'),
    ("functional", 'id = "snarl"', 'id = "nose"',
     "functional.toml: step 10 (nose): id 'nose' is already used by step 5; step ids must be unique"),
    ("functional", 'id = "cheeks"', 'id = "Cheeks"',
     "functional.toml: step 9 (Cheeks): id must be lower-case letters, digits, '-' or '_' (e.g. \"smile-open\"), got \"Cheeks\""),
    ("emotions", "count = 3", "count = 0",
     "emotions.toml: tap_block.count must be a whole number of taps from 1 to 20, got 0"),
    ("emotions", "relax = 1.0 }", "relax = 1000 }",
     "emotions.toml: defaults.timings.relax must be at most 300 s (timings are seconds, not milliseconds), got 1000"),
    ("functional", "timings = { hold = 8.0 }", 'timings = { hold = "8 s" }',
     "functional.toml: step 1 (rest): timings.hold must be a positive number of seconds, got \"8 s\""),
    ("functional", 'title = "Functional movements"', 'titel = "Functional movements"',
     "functional.toml: unknown field 'titel' (did you mean 'title'?); allowed: format, name, title, "
     "description, order, repeat_instruction, defaults, tap_block, steps"),
    ("functional", 'order = "fixed"', 'order = "shuffled"',
     "functional.toml: order must be one of 'fixed', 'random', 'random-no-repeat', got \"shuffled\""),
    ("functional", "format = 1", "format = 2",
     "functional.toml: format must be 1 (the only version this mimicsync reads), got 2"),
    ("functional", 'name = "functional"', 'name = "functional-v2"',
     "functional.toml: name 'functional-v2' must match the file name 'functional'; rename the file or the name"),
    ("emotions", "repetitions = 4", "repetitions = 4\ncolour = 1",
     "emotions.toml: unknown field 'defaults.colour'; allowed: timings, repetitions"),
    ("functional", 'id = "rest"', 'id = "rest"\nmedia = "media/rest.png"',
     "functional.toml: step 1 (rest): media file \"media/rest.png\" not found (looked for {dir}/media/rest.png); "
     "add the file or remove the field"),
    ("functional", 'id = "rest"', 'id = "rest"\nmedia = "rest.txt"',
     "functional.toml: step 1 (rest): media must be an image or video (.png, .jpg, .jpeg, .gif, .bmp, .webp, "
     ".mp4, .webm, .mov, .avi, .mkv), got \"rest.txt\""),
]


@pytest.mark.parametrize("name, old, new, message", MALFORMED, ids=[m[3][:60] for m in MALFORMED])
def test_malformed_files_give_exact_one_line_errors(tmp_path: Path, name: str, old: str, new: str, message: str) -> None:
    path = _broken(tmp_path, name, old, new)
    with pytest.raises(ProtocolError) as err:
        load_protocol(path)
    assert str(err.value) == message.replace("{dir}", str(tmp_path))
    assert "\n" not in str(err.value) and err.value.path == path


@pytest.mark.parametrize("old, new, line", [
    ('order = "fixed"', "order = fixed", 18),
    ("[defaults]\nrepetitions = 3", "[defaults]\nrepetitions = 3\nrepetitions = 4", 23),
])
def test_invalid_toml_syntax_names_the_line(tmp_path: Path, old: str, new: str, line: int) -> None:
    """tomllib's wording varies between Python versions; file, line and fix must be there."""
    path = _broken(tmp_path, "functional", old, new)
    with pytest.raises(ProtocolError, match=rf"^functional\.toml: not valid TOML: .*line {line}\b.*; fix the syntax there$"):
        load_protocol(path)


def test_impossible_no_repeat_order_is_refused() -> None:
    text = (SHIPPED_DIR / "emotions.toml").read_text(encoding="utf-8")
    text = text.replace('id = "anger"', 'id = "anger"\nrepetitions = 30')
    with pytest.raises(ProtocolError) as err:
        loads_protocol(text, "emotions.toml")
    assert str(err.value) == (
        "emotions.toml: order \"random-no-repeat\" is impossible: step 'anger' has 30 of 50 trials; "
        'lower its repetitions or use order = "random"'
    )


def test_missing_timings_without_defaults_names_the_fix() -> None:
    text = TRICKY.replace("timings = { instruction = 1, countdown = 0, hold = 0.1, relax = 1e-3 }",
                          "timings = { instruction = 1, countdown = 0, relax = 1e-3 }")
    with pytest.raises(ProtocolError) as err:
        loads_protocol(text, "tricky.toml", check_media=False)
    assert str(err.value) == "tricky.toml: step 1 (a_1): timings.hold is missing; set it in the step or in [defaults] timings"


# -- lookup by name --------------------------------------------------------------------


def test_study_protocols_override_shipped_ones_by_name(tmp_path: Path) -> None:
    folder = tmp_path / "protocols"
    folder.mkdir()
    text = (SHIPPED_DIR / "functional.toml").read_text(encoding="utf-8")
    (folder / "functional.toml").write_text(text.replace('title = "Functional movements"', 'title = "Lab variant"'))
    (folder / "smiles.toml").write_text(
        text.replace('name = "functional"', 'name = "smiles"'), encoding="utf-8"
    )
    assert load_protocol("functional").title == "Functional movements"
    assert load_protocol("functional", study_root=tmp_path).title == "Lab variant"
    assert load_protocol("smiles", study_root=tmp_path).name == "smiles"
    found = available_protocols(tmp_path)
    assert found["functional"] == folder / "functional.toml" and found["emotions"] == SHIPPED_DIR / "emotions.toml"


def test_unknown_protocol_name_lists_what_exists(tmp_path: Path) -> None:
    with pytest.raises(ProtocolError) as err:
        load_protocol("smiles", study_root=tmp_path)
    assert str(err.value) == (
        "smiles.toml: no protocol named 'smiles'; available: emotions, emotions-reference, functional, "
        f"functional-reference (add smiles.toml to {tmp_path}/protocols/)"
    )
