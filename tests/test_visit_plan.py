"""Session plan files, device setups, --like comparisons and the demo protocol, without LSL."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from mimicsync.cli.keyboard import handle_key
from mimicsync.dataset.layout import RecordingId
from mimicsync.dataset.stream_meta import StreamMeta
from mimicsync.format import ChannelSpec
from mimicsync.protocols.demo import demo_protocol
from mimicsync.protocols.device_setup import DeviceSetup, SetupError, describe_setup
from mimicsync.protocols.like import setup_differences, stream_differences
from mimicsync.protocols.plan import plan_trials
from mimicsync.protocols.schema import dumps_protocol, load_protocol, loads_protocol
from mimicsync.protocols.stored import Earlier, EarlierError, StreamFacts, plan_from_dict
from mimicsync.protocols.visit import prepare_visit
from mimicsync.protocols.visit_plan import (
    STANDARD_BLOCKS,
    Block,
    PlanError,
    VisitPlan,
    dumps_visit_plan,
    load_visit_plan,
    loads_visit_plan,
    parse_block_spec,
)

PLAN = """
format = 1
name = "lab-visit"
language = "de"

[devices]
require = ["type=EMG"]
camera = "realsense"

[[blocks]]
task = "functional"
acq = "S"
protocol = "functional"

[[blocks]]
task = "emotions"
acq = "N"
protocol = "emotions-reference"
seed = 42
devices = { require = [] }

[[blocks]]
task = "rest"
duration = 30
"""


def test_plan_file_loads_round_trips_and_merges_block_devices(tmp_path: Path) -> None:
    plan = loads_visit_plan(PLAN, tmp_path / "lab-visit.toml")
    assert [b.label for b in plan.blocks] == ["functional/S", "emotions/N", "rest"]
    assert plan.language == "de" and plan.devices.camera == "realsense"
    assert plan.block_setup(plan.blocks[0]).require == ("type=EMG",)
    assert plan.block_setup(plan.blocks[1]) == DeviceSetup(camera="realsense")  # electrode-free block
    again = loads_visit_plan(dumps_visit_plan(plan), tmp_path / "lab-visit.toml")
    assert again == plan

    blocks = prepare_visit(plan, "07", "01")
    assert [b.recording_id(tmp_path).stem for b in blocks] == [
        "sub-07_ses-01_task-functional_acq-S_run-01_recording",
        "sub-07_ses-01_task-emotions_acq-N_run-01_recording",
        "sub-07_ses-01_task-rest_run-01_recording"]
    assert blocks[1].plan.seed == 42 and blocks[1].plan == plan_trials(load_protocol("emotions-reference"), 42)
    assert blocks[2].plan is None and blocks[2].duration == 30.0
    assert all(b.language == "de" and b.attrs["visit_plan"] == dumps_visit_plan(plan) for b in blocks)


def test_plan_by_name_in_the_study_sees_the_study_protocols(tmp_path: Path) -> None:
    (tmp_path / "plans").mkdir()
    (tmp_path / "protocols").mkdir()
    text = load_protocol("functional").source.read_text(encoding="utf-8").replace('name = "functional"', 'name = "lab"')
    (tmp_path / "protocols" / "lab.toml").write_text(text, encoding="utf-8")
    (tmp_path / "plans" / "v.toml").write_text('format = 1\n[[blocks]]\ntask = "x"\nprotocol = "lab"\n')
    assert load_visit_plan("v", study_root=tmp_path).blocks[0].protocol == "lab"
    assert load_visit_plan(tmp_path / "plans" / "v.toml").study_root == tmp_path  # found from the folder
    with pytest.raises(PlanError, match=r"^v.toml: block 1 \(x\): protocol: lab.toml: no protocol named 'lab'"):
        loads_visit_plan((tmp_path / "plans" / "v.toml").read_text(), "v.toml")


@pytest.mark.parametrize("edit,message", [
    (("format = 1", "format = 2"), "visit.toml: format must be 1, got 2"),
    (('language = "de"', 'language = "fr"'), "visit.toml: language must be one of en, de, got 'fr'"),
    (('camera = "realsense"', 'camera = "webcam"'), "visit.toml: devices.camera: must be one of realsense, sim, none"),
    (('camera = "realsense"', 'camra = "sim"'), "visit.toml: devices: unknown field 'camra'"),
    (('require = ["type=EMG"]', 'require = ["colour=red"]'), "visit.toml: devices.require: unknown key 'colour'"),
    (('acq = "S"', 'acq = "S-1"'), "visit.toml: block 1 (functional/S-1): acq: 'S-1' is not a BIDS label"),
    (('seed = 42', 'seed = -1'), "visit.toml: block 2 (emotions/N): seed: -1 is out of range; give a value between 0 and 4294967295"),
    (('seed = 42', 'seed = 100000000000000000'), "visit.toml: block 2 (emotions/N): seed: 100000000000000000 is out of range"),
    (('seed = 42', 'sed = 42'), "visit.toml: block 2 (emotions/N): unknown field 'sed'"),
    (('duration = 30', 'duration = 0'), "visit.toml: block 3 (rest): duration: 0 is out of range"),
    (('duration = 30', 'duration = 1e12'), "visit.toml: block 3 (rest): duration: 1000000000000.0 is out of range"),
    (('task = "rest"\nduration = 30', 'task = "rest"'), "visit.toml: block 3 (rest): give protocol = "),
    (('devices = { require = [] }', 'devices = { fps = 0 }'),
     "visit.toml: block 2 (emotions/N): devices.fps: must be a whole number from 1 to 1000, got 0"),
    (('protocol = "functional"', 'protocol = "functionl"'), "visit.toml: block 1 (functional/S): protocol: "
                                                            "functionl.toml: no protocol named 'functionl'"),
])
def test_bad_plan_files_fail_in_one_line_naming_block_and_field(edit, message) -> None:
    text = PLAN.replace(*edit)
    assert text != PLAN
    with pytest.raises(PlanError) as err:
        loads_visit_plan(text, "visit.toml")
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_missing_plan_file_and_invalid_toml(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match=r"^nope.toml: cannot read .*mimicsync plan create"):
        load_visit_plan(tmp_path / "nope.toml")
    with pytest.raises(PlanError, match=r"^v.toml: not valid TOML"):
        loads_visit_plan("format = ", "v.toml")


def test_block_specs() -> None:
    assert parse_block_spec("emotions:S=emotions@7") == Block("emotions", "S", "emotions", 7)
    assert parse_block_spec("functional=functional") == Block("functional", None, "functional")
    assert parse_block_spec("rest:N=60s") == Block("rest", "N", duration=60.0)
    for bad, needle in [("emotions", "is not a block"), ("a b=x", "'a b' is not a BIDS label"),
                        ("e:S=emotions@x", "seed 'x'")]:
        with pytest.raises(PlanError, match=needle):
            parse_block_spec(bad)
    assert [b.protocol for b in STANDARD_BLOCKS] == ["functional", "functional-reference", "emotions",
                                                     "emotions-reference"]


def test_device_setup_validates_and_names_differences() -> None:
    s = DeviceSetup(require=("type=EMG",), camera="sim", width=640, height=480)
    assert DeviceSetup.from_dict(s.to_dict()) == s
    assert describe_setup(s) == "required streams [type=EMG], camera sim, camera width 640, camera height 480"
    assert s.differences(s.replace(width=320, simulate=True)) == ["camera width 320 (was 640)",
                                                                  "simulate True (was False)"]
    assert DeviceSetup().differences(DeviceSetup(width=320)) == []  # no camera: its settings do not matter
    with pytest.raises(SetupError, match=r"^devices.jpeg_quality: must be a whole number from 1 to 100, got 0$"):
        DeviceSetup(jpeg_quality=0)
    with pytest.raises(SetupError, match=r"^devices.sim_clock: unknown key 'offset'"):
        DeviceSetup(sim_clock={"offset": 1.0})


def _earlier(streams=(), camera=None, setup=DeviceSetup()) -> Earlier:
    return Earlier(Path("sub-01_ses-01_task-x_run-01_recording.h5"), RecordingId("01", "01", "x"), "complete",
                   "", 1.0, setup, tuple(streams), camera, "en", None, None, None, ())


def _meta(name: str, labels: list[str], scheme: str = "fridlund") -> StreamMeta:
    return StreamMeta(name, "EMG", name, "host", 4096.0, "float32", len(labels),
                      channels=[ChannelSpec(label, scheme=scheme) for label in labels])


def test_like_names_missing_streams_and_other_electrode_schemes() -> None:
    before = StreamFacts("amp", "amp", "EMG", "amp", "host", 3, ("li Zyg", "re Zyg", "TRIG"),
                         ("fridlund", "fridlund", ""))
    earlier = _earlier([before])
    setup = DeviceSetup(require=("type=EMG",))
    assert stream_differences(earlier, setup, [_meta("amp", ["li Zyg", "re Zyg", "TRIG"])]) == [
        "stream type=EMG channel 3 (TRIG) scheme 'fridlund' (was 'none')"]
    same = StreamMeta("amp", "EMG", "amp", "host", 4096.0, "float32", 3, channels=[
        ChannelSpec("li Zyg", scheme="fridlund"), ChannelSpec("re Zyg", scheme="fridlund"), ChannelSpec("TRIG")])
    assert stream_differences(earlier, setup, [same]) == []
    assert stream_differences(earlier, setup, []) == ["required stream type=EMG missing (was 'amp')"]
    assert stream_differences(earlier, DeviceSetup(streams=("type=EMG",)), []) == []  # optional: no refusal
    assert stream_differences(earlier, setup, [_meta("amp", ["E1", "E2"])]) == [
        "stream type=EMG has 2 channels (was 3)"]
    assert stream_differences(earlier, setup, [_meta("amp", ["E1", "re Zyg", "TRIG"])]) == [
        "stream type=EMG channel 1 label 'E1' (was 'li Zyg': another electrode scheme?)"]


def test_like_compares_the_recorded_video_with_the_camera_setting() -> None:
    setup = DeviceSetup(camera="sim", width=640, height=480)
    assert setup_differences(_earlier(camera=(640, 480, 30.0), setup=setup), setup) == []
    assert setup_differences(_earlier(camera=(1280, 720, 30.0), setup=setup), setup) == [
        "camera resolution 640x480 (was 1280x720)"]
    assert setup_differences(_earlier(camera=(640, 480, 30.0), setup=setup), setup.replace(camera="none")) == [
        "camera none (was sim)"]


def test_stored_plan_is_used_as_stored_not_reshuffled() -> None:
    protocol = load_protocol("emotions")
    plan = plan_trials(protocol, seed=5)
    assert plan_from_dict(protocol, plan.to_dict()) == plan
    d = plan.to_dict()
    d["trials"][0], d["trials"][1] = d["trials"][1], d["trials"][0]
    d["trials"][0]["index"], d["trials"][1]["index"] = 0, 1
    swapped = plan_from_dict(protocol, d)
    assert [t.step_id for t in swapped.trials[:2]] == [t.step_id for t in plan.trials[1::-1]]
    with pytest.raises(EarlierError, match="the plan is for protocol 'emotions', not 'functional'"):
        plan_from_dict(load_protocol("functional"), plan.to_dict())
    del d["trials"][3]["hold"]
    with pytest.raises(EarlierError, match="incomplete or damaged"):
        plan_from_dict(protocol, d)


def test_demo_protocol_fills_a_minute_and_shrinks_to_fit() -> None:
    full, short = demo_protocol(60.0), demo_protocol(8.0)
    assert 57 <= plan_trials(full, 0).planned_duration <= 59.5 and len(full.steps) == 7
    assert 7.0 <= plan_trials(short, 0).planned_duration <= 7.6  # + 0.5 s recorded after the run
    assert [s.id for s in short.steps] == [s.id for s in full.steps]
    assert loads_protocol(dumps_protocol(short)) == short  # storable like any protocol
    assert math.isclose(demo_protocol(600).tap_block.interval, load_protocol("functional").tap_block.interval)


def test_keys_map_to_operator_controls() -> None:
    calls = []

    class Target:
        def toggle_pause(self): calls.append("p")
        def repeat(self): calls.append("r")
        def skip(self): calls.append("s")
        def abort(self): calls.append("a")

    assert [handle_key(k, Target()) for k in "pPrsax"] == [True, True, True, True, True, False]
    assert calls == ["p", "p", "r", "s", "a"]


def test_visit_plan_default_devices_record_nothing_until_told() -> None:
    plan = VisitPlan("v", (Block("rest", duration=1.0),))
    assert plan.block_setup(plan.blocks[0]) == DeviceSetup()


@pytest.mark.parametrize("args,message", [
    (["--participant", "01", "--session", "01", "--protocol", "functional"], "--task: required (a BIDS label"),
    (["--participant", "01", "--session", "01", "--task", "x", "--seed", "3", "--stream", "x"],
     "--seed: only used with --protocol; drop it"),
    (["--protocol", "functional", "--plan", "visit"], "--protocol and --plan cannot be combined"),
    (["--plan", "visit", "--participant", "01", "--session", "01", "--task", "x"], "--task: not used with --plan"),
    (["--like", "somewhere"], "--session: required with --like"),
    (["--resume", "x_recording.h5", "--session", "02"], "--session: not used with --resume"),
    (["--participant", "01", "--session", "01", "--task", "x", "--camera", "sim", "--width", "5"],
     "--width: must be a whole number from 16 to 8192, got 5"),
    (["--participant", "01", "--session", "01", "--task", "x", "--protocol", "nope"], "no protocol named 'nope'"),
    (["--resume", "nothere_recording.h5"], "no such recording"),
    (["--plan", "nope", "--participant", "01", "--session", "01"], "nope.toml: cannot read"),
])
def test_record_option_errors_are_one_line_and_write_nothing(tmp_path: Path, capsys, args, message) -> None:
    from mimicsync.cli.main import _main
    root = tmp_path / "study"
    assert _main(["record", "--root", str(root), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("mimicsync: error: ") and "\n" not in err and message in err, err
    assert not root.exists()
