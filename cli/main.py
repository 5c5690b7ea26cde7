"""``mimicsync`` command line: argument parsing and one-line errors.

Each command lives in a small module; this one only wires them and turns every known
failure into ``mimicsync: error: <what> ; <fix>`` with a non-zero exit code. Run with
``--debug`` for a traceback when reporting a bug.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path

EXIT_ERROR = 2
EXIT_PIPE = 141  # 128 + SIGPIPE, what `yes | head` reports: the reader went away


class OneLineParser(argparse.ArgumentParser):
    """Usage errors in one line, like every other error (``--help`` still shows the usage)."""

    def error(self, message: str):  # noqa: D102 - argparse's hook
        self.exit(EXIT_ERROR, f"mimicsync: error: {message}; see `{self.prog} --help`\n")


def _common_record_args(p: argparse.ArgumentParser, duration: bool = True) -> None:
    p.add_argument("--stream", action="append", default=[], metavar="SEL",
                   help="record streams matching SEL: a name, or name=/type=/source_id=/host=; "
                        "repeatable")
    p.add_argument("--require", action="append", default=[], metavar="SEL",
                   help="like --stream, and refuse to start while it is missing")
    if duration:
        p.add_argument("--duration", type=float, default=None,
                       help="stop after this many seconds (default: until Ctrl-C, or when the "
                            "protocol ends); a protocol still running then is aborted")
    p.add_argument("--operator", default="", help="operator name kept in the provenance")
    p.add_argument("--color-encoding", choices=("jpeg", "lossless"), default=None,
                   help="video colour encoding (default jpeg)")
    _color_quality_arg(p)
    p.add_argument("--min-free-gb", type=float, default=1.0,
                   help="stop cleanly when free disk falls below this (default 1 GiB)")


def _color_quality_arg(p: argparse.ArgumentParser) -> None:
    from mimicsync.format import DEFAULT_JPEG_QUALITY
    p.add_argument("--color-quality", "--jpeg-quality", dest="jpeg_quality", type=int,
                   default=None, metavar="Q",
                   help=f"JPEG quality 1-100 (default {DEFAULT_JPEG_QUALITY}: above 40 dB PSNR "
                        "on photographic footage from a D4xx; 90 is 35 %% larger, 0.6 dB higher)")


def _depth_arg(p: argparse.ArgumentParser) -> None:
    from mimicsync.format import DEFAULT_DEPTH
    p.add_argument("--depth", default=None, metavar="MODE",
                   help="off, a D4xx depth mode (848x480 is its most accurate; 1280x720, "
                        "640x480, 640x360, 480x270, 424x240), optionally :MAX metres to store "
                        f"only nearer depth (default {DEFAULT_DEPTH}: the participant's space; "
                        "848x480 keeps the full range, ~5x the depth bytes: the wall's noise "
                        "dominates a frame)")


def _device_args(p: argparse.ArgumentParser) -> None:
    """Device flags; unset ones (None) leave a plan's or an earlier recording's setting alone."""
    p.add_argument("--camera", choices=("realsense", "sim", "none"), default=None,
                   help="default none; sim follows the protocol")
    p.add_argument("--camera-serial", default=None)
    p.add_argument("--width", type=int, default=None, help="default 1280")
    p.add_argument("--height", type=int, default=None, help="default 720")
    p.add_argument("--fps", type=int, default=None, help="default 30")
    _depth_arg(p)
    p.add_argument("--simulate", action="store_true",
                   help="run the simulated amplifier in this process; it follows the protocol")


def _add_demo(sub) -> None:
    """mimicsync demo: the simulated lab, a short protocol, sync, a summary."""
    d = sub.add_parser("demo", help="simulate the lab, record about a minute, print a summary")
    d.add_argument("--root", type=Path, default=Path("demo-study"))
    d.add_argument("--duration", type=float, default=None,
                   help="about this long (default 60 s; the demo protocol shrinks to fit)")
    d.add_argument("--protocol", default=None,
                   help="run this protocol instead of the one-minute demo protocol")
    d.add_argument("--width", type=int, default=1280)
    d.add_argument("--height", type=int, default=720)
    d.add_argument("--no-camera", action="store_true")
    _depth_arg(d)
    _color_quality_arg(d)


def _add_simulate(sub) -> None:
    """mimicsync simulate / brainflow / streams: devices on LSL and what is there."""
    s = sub.add_parser("simulate", help="publish the simulated devices on LSL until Ctrl-C")
    s.add_argument("--duration", type=float, default=None)
    s.add_argument("--suffix", default="", help="append to the stream names (several labs)")
    s.add_argument("--offset", type=float, default=0.0, help="EMG clock offset, s")
    s.add_argument("--drift-ppm", type=float, default=0.0, help="EMG clock drift, ppm")
    s.add_argument("--jitter", type=float, default=0.0, help="EMG timestamp jitter std, s")
    s.add_argument("--frame-index", action="store_true",
                   help="also run the simulated camera and publish its frame-index stream")

    bf = sub.add_parser("brainflow", help="publish a BrainFlow board on LSL until Ctrl-C")
    bf.add_argument("--board-id", type=int, required=True,
                    help="BrainFlow board id (-1 = synthetic board)")
    bf.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                    help="connection parameter, e.g. serial_port=/dev/ttyUSB0; repeatable")
    bf.add_argument("--name", default=None, help="LSL stream name (default: the board name)")
    bf.add_argument("--duration", type=float, default=None)

    st = sub.add_parser("streams", help="list the LSL streams on the network")
    st.add_argument("--wait", type=float, default=2.0)


def _add_record(sub) -> None:
    """mimicsync record: streams and a camera, with a protocol, plan, earlier session or resume."""
    r = sub.add_parser("record", help="record selected LSL streams and a camera, optionally "
                                      "guided by a protocol, a plan, or an earlier session")
    r.add_argument("--root", type=Path, required=True, help="study root folder")
    r.add_argument("--participant", default=None)
    r.add_argument("--session", default=None)
    r.add_argument("--task", default=None)
    r.add_argument("--acq", default=None)
    r.add_argument("--run", type=int, default=None, help="default: the next free run")
    _device_args(r)
    _common_record_args(r)
    g = r.add_argument_group("protocols (one of --protocol, --plan, --like, --resume)")
    g.add_argument("--protocol", default=None, metavar="NAME",
                   help="run this protocol (study protocols/ first, then shipped) while recording")
    g.add_argument("--seed", type=int, default=None, help="trial order seed (default: a fresh one)")
    g.add_argument("--language", choices=("en", "de"), default=None, help="cue language (default en)")
    g.add_argument("--bell", action="store_true", help="terminal bell at tap and perform cues")
    g.add_argument("--plan", default=None, metavar="FILE",
                   help="record every block of a session plan file (or <root>/plans/NAME.toml)")
    g.add_argument("--no-pause", action="store_true",
                   help="between blocks, go on without waiting for Enter")
    g.add_argument("--like", default=None, metavar="EARLIER",
                   help="repeat an earlier recording or session folder in a new --session")
    g.add_argument("--new-seed", action="store_true", help="with --like: a fresh trial order")
    g.add_argument("--force", action="store_true",
                   help="with --like/--resume: record even if devices or settings differ")
    g.add_argument("--resume", default=None, metavar="RECORDING",
                   help="continue an aborted protocol recording in a new run")


def _add_plan_and_files(sub) -> None:
    """mimicsync plan / info / recover: session plans and single files."""
    pl = sub.add_parser("plan", help="create or show a session plan file (the blocks of a visit)")
    plsub = pl.add_subparsers(dest="plan_command", required=True)
    pc = plsub.add_parser("create", help="write a session plan file")
    pc.add_argument("file", help="path, or a name saved as <root>/plans/NAME.toml")
    pc.add_argument("--root", type=Path, default=None, help="study root (its protocols/ and plans/)")
    pc.add_argument("--block", action="append", default=[], metavar="SPEC",
                    help="TASK[:ACQ]=PROTOCOL[@SEED] or TASK[:ACQ]=SECONDSs, in order; repeatable "
                         "(default: functional S/N, emotions S/N)")
    pc.add_argument("--name", default=None)
    pc.add_argument("--description", default="")
    pc.add_argument("--language", choices=("en", "de"), default="en")
    pc.add_argument("--bell", action="store_true")
    pc.add_argument("--stream", action="append", default=[], metavar="SEL")
    pc.add_argument("--require", action="append", default=[], metavar="SEL")
    pc.add_argument("--color-encoding", choices=("jpeg", "lossless"), default=None)
    _color_quality_arg(pc)
    _device_args(pc)
    pc.add_argument("--overwrite", action="store_true")
    ps = plsub.add_parser("show", help="validate a session plan file and list its blocks")
    ps.add_argument("file")
    ps.add_argument("--root", type=Path, default=None)

    i = sub.add_parser("info", help="summarize a recording")
    i.add_argument("file", type=Path)
    i.add_argument("--json", action="store_true")

    rc = sub.add_parser("recover", help="finish a recording left behind by a crash")
    rc.add_argument("file", type=Path)


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="mimicsync",
        description="Record facial video and facial sEMG on one clock into crash-safe HDF5, "
                    "synchronize, and export as BIDS.")
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = p.add_subparsers(dest="command", required=True)
    _add_demo(sub)
    _add_simulate(sub)
    _add_record(sub)
    _add_plan_and_files(sub)
    from mimicsync.cli import dataset_commands, serve_command, sync_commands
    sv = sub.add_parser("serve", help="a headless recorder driven over TCP by experiment "
                                      "scripts (LabRecorder's remote control, with replies)")
    serve_command.add_arguments(sv)
    _device_args(sv)
    _common_record_args(sv, duration=False)
    sync_commands.add_parser(sub)
    dataset_commands.add_parsers(sub)

    from mimicsync.gui.options import add_arguments as add_gui_arguments
    add_gui_arguments(sub.add_parser("gui", help="the operator app: setup, live monitor, "
                                                 "protocol, participant screen"))
    return p




def main(argv: list[str] | None = None) -> int:
    # Over a `ulimit -f` the kernel would kill us with SIGXFSZ mid-write; ignored, the write
    # fails with EFBIG and takes the same one-line disk-full path as ENOSPC.
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    hooks = sys.excepthook, sys.unraisablehook
    try:
        code = _main(argv)
        sys.stdout.flush()
    except BrokenPipeError:  # `mimicsync info f.h5 | head`: the reader has all it wanted
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = EXIT_PIPE
    finally:
        sys.excepthook, sys.unraisablehook = hooks  # (main also runs inside tests)
    from mimicsync.dataset.recording_writer import hdf5_teardown_unsafe
    if hdf5_teardown_unsafe():
        # A write failed (disk full): HDF5 would crash closing that file at exit. The data
        # flushed before the failure is safe on disk; skip the library teardown.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _quiet_unraisable(u) -> None:
    """After a failed write (disk full) h5py objects that are garbage-collected report the
    same error again from ``__dealloc__``; the one-line message already said it."""
    logging.getLogger("mimicsync").debug("ignored in %r: %s", u.object, u.exc_value)


def _one_line_excepthook(kind, value, tb) -> None:
    """h5py prints errors raised while freeing objects through ``sys.excepthook`` (Cython's
    unraisable path); like any error that reaches it, it becomes one line."""
    from mimicsync.dataset.recording_writer import hdf5_teardown_unsafe
    logging.getLogger("mimicsync").debug("uncaught", exc_info=(kind, value, tb))
    if not hdf5_teardown_unsafe():  # after a failed write: the one-line error said it all
        print(f"mimicsync: error: unexpected {kind.__name__}: {value} (run with --debug and "
              "report it)", file=sys.stderr)


def _main(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not args.debug:
        sys.unraisablehook = _quiet_unraisable
        sys.excepthook = _one_line_excepthook
    from mimicsync.cli import commands
    from mimicsync.cli.errors import USER_ERRORS, render
    try:
        return commands.run(args)
    except KeyboardInterrupt:
        print("mimicsync: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        raise
    except USER_ERRORS as e:
        if args.debug:
            raise
        print(f"mimicsync: error: {render(e)}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as e:  # noqa: BLE001 - a bug: still one line, traceback on --debug
        if args.debug:
            raise
        print(f"mimicsync: error: unexpected {type(e).__name__}: {e} (run with --debug and "
              "report it)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
