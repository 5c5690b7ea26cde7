"""The CLI commands. Thin: all logic lives in acquisition/, dataset/ and protocols/ (the GUI
uses it too); here arguments become blocks and results become text."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

from mimicsync.acquisition.recorder_setup import GiB, RecorderStatus
from mimicsync.acquisition.stream_select import parse_selectors
from mimicsync.cli import dataset_commands, lsl_commands
from mimicsync.cli.keyboard import KeyboardControls
from mimicsync.dataset.layout import check_label
from mimicsync.dataset.recording import Recording
from mimicsync.dataset.recover import recover
from mimicsync.errors import MimicsyncError, StopReason, check_duration, check_number
from mimicsync.protocols.device_setup import DeviceSetup, SetupError, describe_setup
from mimicsync.protocols.plan import plan_trials
from mimicsync.protocols.protocol_recording import (
    ProtocolRecording,
    ProtocolRecordingResult,
)
from mimicsync.protocols.schema import load_protocol
from mimicsync.protocols.visit import (
    PreparedBlock,
    RecordOptions,
    format_length,
    prepare_visit,
    record_visit,
)
from mimicsync.protocols.visit_plan import (
    STANDARD_BLOCKS,
    VisitPlan,
    dump_visit_plan,
    find_visit_plan,
    load_visit_plan,
    parse_block_spec,
    parse_visit_plan,
)


class UsageError(MimicsyncError, ValueError):
    """Options that do not fit together; the message names them and the fix."""


def run(args: argparse.Namespace) -> int:
    from mimicsync.cli import serve_command, sync_commands
    if getattr(args, "duration", None) is not None:  # every command's --duration, one check
        check_duration(args.duration)
    return {"demo": demo, "simulate": lsl_commands.simulate, "streams": lsl_commands.streams,
            "record": record, "info": info, "recover": recover_cmd,
            "brainflow": lsl_commands.brainflow,
            "plan": plan_cmd, "sync": sync_commands.run, "gui": gui, "serve": serve_command.serve,
            **dataset_commands.COMMANDS}[args.command](args)


def gui(args: argparse.Namespace) -> int:
    from mimicsync.gui.app import run_gui_args  # Qt only for this command
    return run_gui_args(args)


# -- helpers ---------------------------------------------------------------------------
def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return str(n)


def print_summary(summary: dict, out=None) -> None:
    """The table a user reads after a recording: counts, rates, gaps, drops, size."""
    out = out if out is not None else sys.stdout
    print(f"recording: {summary['path']}", file=out)
    print(f"status: {summary['status']}   size: {_human(summary['size_bytes'])}   "
          f"events: {summary['events']}", file=out)
    print(f"{'stream':<34} {'type':<12} {'samples':>9} {'rate (eff/nom)':>20} {'gaps':>5} "
          f"{'lost':>5}", file=out)
    for s in summary["streams"].values():
        rate = (f"{s['effective_srate']:.2f}/{s['nominal_srate']:g} Hz" if s["nominal_srate"]
                else "irregular")
        print(f"{s['name'][:34]:<34} {s['type'][:12]:<12} {s['samples']:>9} {rate:>20} "
              f"{s['gaps']:>5} {s['disconnects']:>5}", file=out)
    sy = summary.get("sync")
    if sy:
        print(f"sync: accuracy ±{sy.get('uncertainty_ms', float('nan')):.2f} ms (95 %), "
              f"video offset {1000 * sy.get('offset_s', 0):+.2f} ms "
              f"(sd {sy.get('offset_sd_ms', float('nan')):.2f}), drift "
              f"{sy.get('drift_ppm', 0):.1f} ppm, residual RMS "
              f"{sy.get('residual_rms_ms', float('nan')):.1f} ms, confidence "
              f"{sy.get('confidence', 0):.2f}" + ("  (forced)" if sy.get("forced") else ""),
              file=out)
    elif "sync" in summary:
        print("sync: not synchronized yet (run `mimicsync sync FILE`)", file=out)
    v = summary.get("video")
    if v:
        print(f"video: {v['frames']} frames {v['width']}x{v['height']} at "
              f"{v['effective_fps']:.2f} fps, dropped frames: {v['dropped']}", file=out)


def _print_status(st: RecorderStatus) -> None:
    counts = ", ".join(f"{s.name}={s.samples}{'' if s.connected else ' (LOST)'}" for s in st.streams)
    print(f"  {st.elapsed_s:6.1f} s  {_human(st.file_bytes)}  frames={st.frames} "
          f"dropped={st.dropped_frames}  {counts}  disk: {st.time_left}", file=sys.stderr)


@contextlib.contextmanager
def _operator_controls(session: ProtocolRecording) -> Iterator[None]:
    """While a block records: Ctrl-C/SIGTERM stop it cleanly; keys control a protocol."""
    def handler(signum, _frame):
        session.request_stop(StopReason.SIGNAL, signal.Signals(signum).name)
    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    keys = KeyboardControls(session) if session.runner is not None else contextlib.nullcontext()
    try:
        with keys:
            yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _started(session: ProtocolRecording) -> None:
    print(f"recording to {session.recorder.part_path} (Ctrl-C to stop)", file=sys.stderr)
    for w in session.recorder.warnings:
        print(f"warning: {w}", file=sys.stderr)


def _options(args: argparse.Namespace, plain: bool) -> RecordOptions:
    return RecordOptions(operator=args.operator, bell=args.bell,
                         min_free_bytes=int(check_number("min free disk", args.min_free_gb,
                                                         minimum=0, unit="GiB") * GiB),
                         on_status=_print_status if plain else None, on_started=_started,
                         controls=_operator_controls)


def _result(block: PreparedBlock, result: ProtocolRecordingResult, root: Path) -> None:
    if result.stop_text:
        print(f"note: {result.stop_text}", file=sys.stderr)
    with Recording(result.path) as r:
        print_summary(r.summary())
    rep = result.report
    if rep is None:
        return
    lat = result.push_latency
    print(f"protocol {rep.protocol}: run {rep.run_id} {rep.status}, seed {rep.seed}, "
          f"{len(rep.completed)} trials completed, {len(rep.skipped)} skipped; cue->marker "
          f"median {lat.median * 1e3:.2f} ms, max {lat.max * 1e3:.2f} ms")
    if result.markers_recorded < len(rep.events):
        print(f"note: the recorder's inlet got {result.markers_recorded} of {len(rep.events)} markers; "
              "all cues are in the events, the raw marker stream is incomplete", file=sys.stderr)
    if rep.status == "aborted":
        print(f"resume with: mimicsync record --root {root} --resume {result.path}", file=sys.stderr)


def _between(blocks: list[PreparedBlock]):
    def ask(i: int, block: PreparedBlock) -> bool:
        print(f"next: block {i + 1}/{len(blocks)} {block.describe()}", file=sys.stderr)
        print("press Enter to start it, or q and Enter to end the visit", file=sys.stderr)
        line = sys.stdin.readline()
        if line == "":
            print("note: no operator input (stdin closed); going on", file=sys.stderr)
        return line.strip().lower() not in ("q", "quit")
    return ask


def _setup_overrides(args: argparse.Namespace) -> dict:
    """The device flags given on the command line (unset ones are not overrides)."""
    parse_selectors(args.stream + args.require)  # one-line errors name --stream/--require
    o: dict = {}
    if args.stream:
        o["streams"] = tuple(args.stream)
    if args.require:
        o["require"] = tuple(args.require)
    for name in ("camera", "camera_serial", "width", "height", "fps", "depth", "color_encoding",
                 "jpeg_quality"):
        if getattr(args, name) is not None:
            o[name] = getattr(args, name)
    if args.simulate:
        o["simulate"] = True
    return o


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _not_with(args: argparse.Namespace, mode: str, *names: str) -> None:
    for n in names:
        if getattr(args, n) not in (None, False):
            raise UsageError(f"{_flag(n)}: not used with --{mode}; drop it")


def _only_with(args: argparse.Namespace, mode: str, allowed: str, name: str) -> None:
    if mode != allowed and getattr(args, name) not in (None, False):
        raise UsageError(f"{_flag(name)}: only used with --{allowed}; drop it"
                         + (f" (not used with --{mode})" if mode else ""))


LABEL_EXAMPLES = {"participant": "07", "session": "01", "task": "emotions"}


def _need(args: argparse.Namespace, mode: str, *names: str) -> None:
    for n in names:
        if getattr(args, n) is None:
            raise UsageError(f"--{n}: required{f' with --{mode}' if mode else ''} "
                             f"(a BIDS label, e.g. --{n} {LABEL_EXAMPLES[n]})")


SETUP_FLAGS = {"streams": "--stream", "require": "--require", "jpeg_quality": "--color-quality"}


def _setup_error(e: SetupError) -> UsageError:
    """A device setting from the command line, named by its flag."""
    text = str(e)
    if text.startswith("devices."):
        field, _, rest = text[len("devices."):].partition(": ")
        return UsageError(f"{SETUP_FLAGS.get(field, _flag(field))}: {rest}")
    return UsageError(text)


def _record_blocks(args: argparse.Namespace) -> list[PreparedBlock]:
    """What ``mimicsync record`` records, from its flags (one mode at a time)."""
    modes = [m for m in ("protocol", "plan", "like", "resume") if getattr(args, m)]
    if len(modes) > 1:
        raise UsageError(f"--{modes[0]} and --{modes[1]} cannot be combined; choose one")
    mode = modes[0] if modes else ""
    for name in ("participant", "session", "task", "acq"):
        check_label(name, getattr(args, name), optional=True)
    overrides = _setup_overrides(args)
    _only_with(args, mode, "protocol", "seed")
    _only_with(args, mode, "like", "new_seed")
    if mode != "resume":
        _only_with(args, mode, "like", "force")
    try:
        return _blocks_for(args, mode, overrides)
    except SetupError as e:
        raise _setup_error(e) from None


def _blocks_for(args: argparse.Namespace, mode: str, overrides: dict) -> list[PreparedBlock]:
    """Device flags given on the command line win over the plan's and the earlier setup."""
    from mimicsync.protocols.like import like_blocks, resume_block
    if mode == "resume":
        _not_with(args, mode, "participant", "session", "task", "acq", "run")
        block = resume_block(args.resume, overrides=overrides, force=args.force, duration=args.duration)
        return [dataclasses.replace(block, language=args.language or block.language)]
    if mode == "like":
        _need(args, mode, "session")
        _not_with(args, mode, "task", "acq", "run")
        blocks = like_blocks(args.like, args.session, participant=args.participant, overrides=overrides,
                             new_seed=args.new_seed, force=args.force, duration=args.duration)
        return [dataclasses.replace(b, language=args.language or b.language) for b in blocks]
    if mode == "plan":
        _need(args, mode, "participant", "session")
        _not_with(args, mode, "task", "acq", "run")
        visit = load_visit_plan(args.plan, study_root=args.root)
        if args.language:
            visit = dataclasses.replace(visit, language=args.language)
        blocks = prepare_visit(visit, args.participant, args.session, args.root, args.duration)
        return [dataclasses.replace(b, setup=b.setup.replace(**overrides)) for b in blocks]
    _need(args, "", "participant", "session", "task")
    setup = DeviceSetup(**overrides)
    plan = None
    if mode == "protocol":
        plan = plan_trials(load_protocol(args.protocol, study_root=args.root), args.seed)
    return [PreparedBlock(args.participant, args.session, args.task, args.acq, setup, plan, args.duration,
                          language=args.language or "en", run=args.run)]


# -- commands --------------------------------------------------------------------------
def record(args: argparse.Namespace) -> int:
    blocks = _record_blocks(args)
    if len(blocks) > 1:
        print(f"visit: {len(blocks)} blocks", file=sys.stderr)
        for i, b in enumerate(blocks, start=1):
            print(f"  {i}. {b.describe()}", file=sys.stderr)
    plain = all(b.plan is None for b in blocks)
    between = None if args.no_pause or len(blocks) == 1 else _between(blocks)
    results = record_visit(args.root, blocks, _options(args, plain), between,
                           on_result=lambda b, r: _result(b, r, args.root))
    if len(results) < len(blocks):
        print(f"visit ended after {len(results)} of {len(blocks)} blocks", file=sys.stderr)
    return 0


def demo(args: argparse.Namespace) -> int:
    """Simulated amplifier + camera following a protocol: one recording, then the summary."""
    from mimicsync.protocols.demo import demo_protocol
    duration = args.duration
    protocol = (load_protocol(args.protocol, study_root=args.root) if args.protocol
                else demo_protocol(duration if duration is not None else 60.0))
    camera = {k: getattr(args, k) for k in ("depth", "jpeg_quality") if getattr(args, k) is not None}
    try:
        setup = DeviceSetup(camera="none" if args.no_camera else "sim", width=args.width,
                            height=args.height, simulate=True, **camera,
                            sim_clock={"emg_offset_s": 0.012, "emg_drift_ppm": 20.0,
                                       "emg_jitter_s": 0.0002})
    except SetupError as e:
        raise _setup_error(e) from None
    plan = plan_trials(protocol)
    block = PreparedBlock("demo", "01", "demo", None, setup, plan,
                          duration + 1.5 if args.protocol and duration is not None else None)
    print("mimicsync demo: simulated sEMG (64 ch at 4096 Hz)"
          + ("" if args.no_camera else f" and {args.width}x{args.height} video")
          + f" following {block.describe()}", file=sys.stderr)
    options = RecordOptions(operator="demo", on_started=_started, controls=_operator_controls)
    recorded: list[Path] = []

    def on_result(b: PreparedBlock, r: ProtocolRecordingResult) -> None:
        _result(b, r, args.root)
        recorded.append(r.path)

    record_visit(args.root, [block], options, on_result=on_result)
    if recorded:  # a simulated participant: nothing private, so `mimicsync export` works
        from mimicsync.dataset.study_tree import update_participant
        update_participant(args.root, block.participant, {
            "consent_data_public": "yes", "consent_video_public": "yes"})
    if args.no_camera or not recorded:
        return 0
    # the operator leaves with a synchronized, verified session: align video and sEMG now
    from mimicsync.cli.sync_commands import sync_file
    return sync_file(recorded[-1], debug=args.debug)


def plan_cmd(args: argparse.Namespace) -> int:
    return {"create": plan_create, "show": plan_show}[args.plan_command](args)


def plan_create(args: argparse.Namespace) -> int:
    blocks = tuple(parse_block_spec(s) for s in args.block) or STANDARD_BLOCKS
    try:
        setup = DeviceSetup(**_setup_overrides(args))
    except SetupError as e:
        raise _setup_error(e) from None
    path = find_visit_plan(args.file, args.root)
    visit = VisitPlan(args.name or path.stem, blocks, setup, args.description, args.language, args.bell)
    parse_visit_plan(visit.to_dict(), path, args.root)  # the same checks as reading it back
    dump_visit_plan(visit, path, overwrite=args.overwrite)
    print(f"wrote {path}")
    return plan_show(argparse.Namespace(file=str(path), root=args.root))


def plan_show(args: argparse.Namespace) -> int:
    visit = load_visit_plan(args.file, study_root=args.root)
    print(f"plan {visit.name}: {len(visit.blocks)} blocks, cues in {visit.language}"
          + (", bell" if visit.bell else "") + (f" - {visit.description}" if visit.description else ""))
    total = 0.0
    for i, b in enumerate(visit.blocks, start=1):
        if b.protocol is None:
            what, length = "plain recording", b.duration or 0.0
        else:
            p = plan_trials(load_protocol(b.protocol, study_root=visit.study_root), b.seed or 0)
            order = "fixed order" if p.protocol.order == "fixed" else (
                f"order from seed {b.seed}" if b.seed is not None else "fresh seed per recording")
            what, length = f"{p.protocol.name} ({len(p.trials)} trials, {order})", p.planned_duration
        total += length
        devices = describe_setup(visit.block_setup(b))
        print(f"  {i}. {b.label:<16} {what}, ~{format_length(length)}; devices: {devices}")
    print(f"total ~{format_length(total)} without pauses")
    return 0


def info(args: argparse.Namespace) -> int:
    with Recording(args.file) as r:
        summary = r.summary()
        if args.json:
            summary["attrs"] = {k: v for k, v in r.attrs.items() if k != "provenance"}
            print(json.dumps(summary, indent=2, default=str))
        else:
            a = r.attrs
            print(f"participant {a.get('participant')}  session {a.get('session')}  task "
                  f"{a.get('task')}  run {a.get('run')}  started {a.get('start_utc')}  "
                  f"duration {float(a.get('duration_s', 0) or 0):.1f} s")
            if a.get("protocol_name"):
                runs = [e for e in r.events if e.trial_type == "run_end"]
                print(f"protocol {a['protocol_name']}  seed {a.get('protocol_seed')}  run id "
                      f"{a.get('protocol_run_id')}  " + (f"{runs[-1].value}" if runs else "not ended")
                      + (f"  resumes {a['resumes']}" if a.get("resumes") else "")
                      + (f"  like {a['like']}" if a.get("like") else ""))
            print_summary(summary)
    return 0


def recover_cmd(args: argparse.Namespace) -> int:
    path = recover(args.file)
    print(f"recovered: {path}")
    with Recording(path) as r:
        print_summary(r.summary())
    return 0
