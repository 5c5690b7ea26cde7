"""Protocols wired into recording, over real LSL: record --protocol, --like, --resume, --plan.

A tiny study protocol (3 steps x 2, ~5 s; "quick": ~3 s for the command-line tests) keeps
each recording short; the simulated lab runs in-process with unique stream names, so
parallel test runs do not mix. The command line runs in-process (no interpreter start per
call) except where its stdin matters.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from lsl_helpers import PushingOutlet, unique

from mimicsync.cli.main import _main
from mimicsync.dataset.recording import Recording
from mimicsync.errors import StopReason
from mimicsync.protocols.device_setup import DeviceSetup
from mimicsync.protocols.markers import MarkerReceiver, decode_marker
from mimicsync.protocols.plan import plan_trials
from mimicsync.protocols.resume import resume_point_from_events
from mimicsync.protocols.schema import load_protocol, loads_protocol
from mimicsync.protocols.visit import PreparedBlock, RecordOptions, record_block

MIMICSYNC = [sys.executable, "-m", "mimicsync.cli.main"]

TINY = """
format = 1
name = "tiny"
order = "random-no-repeat"

[defaults]
repetitions = 2
timings = { instruction = 0.15, countdown = 0.1, hold = 0.3, relax = 0.1 }

[tap_block]
count = 2
interval = 0.15
instruction = 0.25
after = 0.15
text = { en = "Tap twice.", de = "Zweimal tippen." }

[[steps]]
id = "smile-open"
label = { en = "Smile", de = "Lächeln" }
instruction = { en = "Smile with open mouth.", de = "Lächeln mit offenem Mund." }

[[steps]]
id = "anger"
label = { en = "Anger", de = "Ärger" }
instruction = { en = "Show anger.", de = "Zeigen Sie Ärger." }

[[steps]]
id = "forehead"
label = { en = "Forehead", de = "Stirn" }
instruction = { en = "Raise your eyebrows.", de = "Ziehen Sie die Augenbrauen hoch." }
"""


# The same at ~3 s for the command-line tests, which do not look at the signals.
QUICK = (TINY.replace('"tiny"', '"quick"')
         .replace("instruction = 0.15, countdown = 0.1, hold = 0.3, relax = 0.1",
                  "instruction = 0.1, countdown = 0.05, hold = 0.2, relax = 0.05")
         .replace("interval = 0.15\ninstruction = 0.25\nafter = 0.15",
                  "interval = 0.1\ninstruction = 0.15\nafter = 0.1"))


@pytest.fixture
def study(tmp_path: Path) -> Path:
    root = tmp_path / "study"
    (root / "protocols").mkdir(parents=True)
    (root / "protocols" / "tiny.toml").write_text(TINY, encoding="utf-8")
    (root / "protocols" / "quick.toml").write_text(QUICK, encoding="utf-8")
    assert load_protocol("quick", study_root=root).tap_block.after == 0.1
    return root


@dataclass
class Out:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys):
    """``mimicsync`` in this process (no interpreter start and imports per call)."""
    def run(*args: str) -> Out:
        code = _main(list(args))
        captured = capsys.readouterr()
        return Out(code, captured.out, captured.err)
    return run


def cli_process(*args: str, stdin: str = "", timeout: float = 90) -> subprocess.CompletedProcess:
    """The real entry point in a subprocess (stdin for the operator pause)."""
    return subprocess.run(MIMICSYNC + list(args), capture_output=True, text=True, timeout=timeout,
                          input=stdin)


def one_line_error(out: Out, *needles: str) -> str:
    assert out.returncode == 2, out.stderr
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("mimicsync: error: "), out.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def recordings(folder: Path) -> list[Path]:
    return sorted(folder.glob("*_recording.h5"))


def cue_events(rec: Recording) -> list:
    return [e for e in rec.events if "run_id" in e.extra]


def performed(rec: Recording) -> list[str]:
    return [e.value for e in rec.events if e.trial_type == "perform"]


# -- record --protocol -----------------------------------------------------------------


def test_protocol_recording_has_one_clean_set_of_cues_seen_alike_by_an_independent_inlet(study):
    """Runner events = /events = raw marker stream = what an independent inlet received;
    the simulated face and sEMG perform the cued movements."""
    plan = plan_trials(load_protocol("tiny", study_root=study), seed=11)
    receivers: list[MarkerReceiver] = []
    console = io.StringIO()
    options = RecordOptions(console=console, marker_name=unique("protocol"),
                            on_started=lambda s: receivers.append(MarkerReceiver(s.source_id)))
    setup = DeviceSetup(camera="sim", width=160, height=120, simulate=True)
    result = record_block(study, PreparedBlock("01", "01", "tiny", "S", setup, plan), options)
    rx = receivers[0]
    report = result.report
    end = time.monotonic() + 5
    while len(rx.received) < len(report.events) and time.monotonic() < end:
        time.sleep(0.01)
    rx.close()

    assert report.status == "completed" and len(report.completed) == len(plan.trials) == 6
    assert result.markers_recorded == len(report.events) and result.stop_reason is StopReason.PROTOCOL_DONE
    with Recording(result.path) as rec:
        cues = cue_events(rec)
        assert cues == list(report.events)  # onset, duration, trial_type, value, extra: exact
        assert rx.events() == cues  # what an independent LSL inlet got
        raw = rec.stream(options.marker_name)  # the marker stream, kept verbatim
        assert raw.attrs["source_id"] == rec.attrs["protocol_marker_stream"]
        assert [decode_marker(t, ts) for t, ts in zip(raw.data, raw.time_stamps)] == cues
        assert not [e for e in rec.events if e.trial_type == "marker"]  # no duplicate copies
        assert performed(rec) == [t.step_id for t in plan.trials]

        # Stored with the recording: the protocol, the plan (seed + order), the run id.
        a = rec.attrs
        assert loads_protocol(a["protocol"]) == plan.protocol
        assert json.loads(a["plan"]) == plan.to_dict() and a["protocol_seed"] == 11
        assert a["protocol_run_id"] == report.run_id and a["protocol_language"] == "en"
        assert DeviceSetup.from_dict(json.loads(a["setup"])) == setup

        # The simulated participant followed the cues: sEMG bursts and a moving face.
        emg = rec.stream(next(k for k, s in rec.streams.items() if s.attrs["type"] == "EMG"))
        x, t = emg.data[:, emg.channels["type"] == b"EMG"], emg.time_stamps
        first = cues[1].onset  # tap instruction: the participant is still at rest

        def rms(t0: float, t1: float) -> np.ndarray:  # per channel
            return np.sqrt(np.mean(x[(t >= t0) & (t < t1)] ** 2, axis=0))

        rest = rms(first, first + 0.2)
        holds = [e for e in cues if e.trial_type == "perform"]
        assert min(float(np.max(rms(e.onset + 0.45, e.onset + 0.55) / rest)) for e in holds) > 3
        frames = rec.frames

        def frame_at(when: float) -> np.ndarray:
            return rec.color(int(np.argmin(np.abs(frames[:, 3] - when)))).astype(float)

        moved = np.abs(frame_at(holds[0].onset + 0.5) - frame_at(first + 0.05)).mean()
        still = np.abs(frame_at(first + 0.15) - frame_at(first + 0.05)).mean()
        assert moved > 3 * still + 0.5
    assert "GO  SMILE" in console.getvalue() or "GO  ANGER" in console.getvalue()
    push = result.push_latency
    print(f"\ncue->marker pushed: median {push.median * 1e3:.3f} ms, max {push.max * 1e3:.3f} ms; "
          f"cue->independent inlet while recording: median {rx.latency().median * 1e3:.3f} ms, "
          f"max {rx.latency().max * 1e3:.3f} ms (n={rx.latency().count})")
    assert push.max < 0.05 and rx.latency().median < 0.02


# -- --like --------------------------------------------------------------------------------


def test_like_repeats_the_session_exactly_and_refuses_a_different_camera(study, cli):
    first = cli("record", "--root", str(study), "--participant", "07", "--session", "01", "--task",
                "quick", "--acq", "S", "--protocol", "quick", "--simulate", "--camera", "sim",
                "--width", "160", "--height", "120", "--language", "de")
    assert first.returncode == 0, first.stderr
    assert "Zeigen Sie Ärger." in first.stdout  # German cues on the console
    ses1 = study / "sub-07" / "ses-01"
    second = cli("record", "--root", str(study), "--like", str(ses1), "--session", "02")
    assert second.returncode == 0, second.stderr
    [f1], [f2] = recordings(ses1), recordings(study / "sub-07" / "ses-02")
    assert f2.name == "sub-07_ses-02_task-quick_acq-S_run-01_recording.h5"
    with Recording(f1) as r1, Recording(f2) as r2:
        a1, a2 = r1.attrs, r2.attrs
        # Same protocol, same plan (seed and order), same devices and cue language.
        for k in ("protocol", "plan", "protocol_seed", "setup", "protocol_language", "participant"):
            assert a1[k] == a2[k], k
        assert a2["like"] == f1.name and a2["protocol_run_id"] != a1["protocol_run_id"]
        assert performed(r1) == performed(r2) == [t["step"] for t in json.loads(a1["plan"])["trials"]]
        # The order is reproducible from what the first recording stored.
        replay = plan_trials(loads_protocol(a1["protocol"]), a1["protocol_seed"])
        assert replay.to_dict() == json.loads(a1["plan"])
        assert (r2.has_video and r2.f["video"].attrs["width"] == 160
                and [s.attrs["channel_count"] for s in r1.streams.values()]
                == [s.attrs["channel_count"] for s in r2.streams.values()])

    refused = cli("record", "--root", str(study), "--like", str(f1), "--session", "03", "--width", "320")
    one_line_error(refused, f1.name, "camera width 320 (was 160)", "--force")
    assert not (study / "sub-07" / "ses-03").exists()
    one_line_error(cli("record", "--root", str(study), "--like", str(f1), "--session", "01"),
                   "--session: 01 is the session of", "--session 02")


def test_like_refuses_a_different_electrode_setup_unless_forced(study, cli):
    name = unique("amp")
    amp = PushingOutlet(name, channels=4, srate=250.0).start()
    try:
        out = cli("record", "--root", str(study), "--participant", "08", "--session", "01",
                  "--task", "rest", "--require", f"name={name}", "--duration", "1")
        assert out.returncode == 0, out.stderr
    finally:
        amp.stop()
    [f1] = recordings(study / "sub-08" / "ses-01")
    amp = PushingOutlet(name, channels=8, srate=250.0).start()  # same amplifier name, 8 channels
    try:
        refused = cli("record", "--root", str(study), "--like", str(f1), "--session", "02")
        one_line_error(refused, f"stream name={name} has 8 channels (was 4)", "--force")
        assert not (study / "sub-08" / "ses-02").exists()
        forced = cli("record", "--root", str(study), "--like", str(f1), "--session", "02", "--force")
        assert forced.returncode == 0, forced.stderr
        assert "has 8 channels (was 4)" in forced.stderr
    finally:
        amp.stop()
    [f2] = recordings(study / "sub-08" / "ses-02")
    with Recording(f2) as r:
        assert json.loads(r.attrs["like_differences"]) == [f"stream name={name} has 8 channels (was 4)"]
        assert r.stream(name).attrs["channel_count"] == 8 and 0.5 < r.attrs["duration_s"] < 3


# -- --resume ------------------------------------------------------------------------------


def test_resume_continues_at_the_next_unfinished_trial_and_links_the_runs(study, cli):
    out = cli("record", "--root", str(study), "--participant", "09", "--session", "01", "--task",
              "quick", "--protocol", "quick", "--simulate", "--duration", "1.5")
    assert out.returncode == 0, out.stderr
    [f1] = recordings(study / "sub-09" / "ses-01")
    assert f"--resume {f1}" in out.stderr  # the hint the operator needs
    with Recording(f1) as r1:
        run1 = r1.attrs["protocol_run_id"]
        assert [e.value for e in r1.events if e.trial_type == "run_end"] == ["aborted"]
        point = resume_point_from_events(r1.events)
        done1 = set(point.completed)
        plan = json.loads(r1.attrs["plan"])
    assert 0 < point.next_index < len(plan["trials"])

    out = cli("record", "--root", str(study), "--resume", str(f1))
    assert out.returncode == 0, out.stderr
    f2 = study / "sub-09" / "ses-01" / "sub-09_ses-01_task-quick_run-02_recording.h5"
    with Recording(f2) as r2:
        a = r2.attrs
        assert a["resumes"] == f1.name and a["protocol_previous_run_id"] == run1
        assert a["protocol_start_trial"] == point.next_index and a["plan"] == json.dumps(plan, separators=(",", ":"))
        cues = cue_events(r2)
        assert all(e.extra["previous_run_id"] == run1 for e in cues)
        assert cues[0].extra["start_trial"] == point.next_index
        trials2 = [e.extra["trial"] for e in cues if e.trial_type == "perform"]
        assert trials2 == list(range(point.next_index, len(plan["trials"])))
        done2 = {e.extra["trial"] for e in cues if e.trial_type == "relax"}
    assert done1 | done2 == set(range(len(plan["trials"])))  # every trial performed once overall
    one_line_error(cli("record", "--root", str(study), "--resume", str(f2)), "nothing to resume")


# -- session plan files -------------------------------------------------------------------


def test_plan_file_records_its_blocks_in_order_with_an_operator_pause(study):
    out = cli_process("plan", "create", "visit", "--root", str(study), "--block", "quick:S=quick@3",
                      "--block", "rest:N=1s", "--simulate")
    assert out.returncode == 0, out.stderr
    assert "quick (6 trials, order from seed 3)" in out.stdout and "plain recording" in out.stdout
    out = cli_process("record", "--root", str(study), "--plan", "visit", "--participant", "10",
                      "--session", "01", stdin="\n")
    assert out.returncode == 0, out.stderr
    assert "next: block 2/2 rest/N" in out.stderr and "press Enter" in out.stderr
    ses = study / "sub-10" / "ses-01"
    f1 = ses / "sub-10_ses-01_task-quick_acq-S_run-01_recording.h5"
    f2 = ses / "sub-10_ses-01_task-rest_acq-N_run-01_recording.h5"
    assert recordings(ses) == [f1, f2]
    with Recording(f1) as r1, Recording(f2) as r2:
        assert r1.attrs["visit_block"] == 1 and r2.attrs["visit_block"] == 2
        assert r1.attrs["visit_plan"] == r2.attrs["visit_plan"] == (study / "plans" / "visit.toml").read_text()
        assert r1.attrs["protocol_seed"] == 3 and "protocol" not in r2.attrs
        assert r1.attrs["start_lsl"] < r2.attrs["start_lsl"]
        assert performed(r1) == [t.step_id for t in plan_trials(load_protocol("quick", study_root=study), 3).trials]
        assert 0.8 < r2.attrs["duration_s"] < 3
