"""``mimicsync sync FILE``: align video and sEMG, store ``/sync``, print a summary.

Exit codes: 0 synced (``/sync`` written), 2 the file cannot be synchronised as it is
(no video, no sEMG, truncated, still recording), 3 sync refused (too few or ambiguous
events; the message says what to do). On 2 and 3 the file is not touched.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_BAD_INPUT = 2
EXIT_REFUSED = 3


def _box(text: str) -> tuple[int, int, int, int]:
    try:
        x0, y0, x1, y1 = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not X0,Y0,X1,Y1 in pixels") from None
    if x1 <= x0 or y1 <= y0:
        raise argparse.ArgumentTypeError(f"'{text}': X1 must exceed X0 and Y1 exceed Y0")
    return x0, y0, x1, y1


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "sync", help="align the video with the sEMG (every stream onto one timeline) and "
                     "store the result in the file's /sync group")
    p.add_argument("file", type=Path, nargs="?", default=None,
                   help="one recording (or give --root for a whole study)")
    p.add_argument("--root", type=Path, default=None,
                   help="synchronise every finished recording of this study not yet synced")
    p.add_argument("--workers", type=int, default=None,
                   help="with --root: local worker processes (default: CPUs - 1; 1 = no pool)")
    p.add_argument("--scheduler", default=None, metavar="ADDR",
                   help="with --root: run on a Dask cluster, e.g. tcp://host:8786")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--report", type=Path, default=None, metavar="PNG",
                   help="also write a figure: matched events, residuals, drift line")
    p.add_argument("--force", action="store_true",
                   help="store the result even when its confidence is low")
    p.add_argument("--dry-run", action="store_true", help="compute and print; write nothing")
    p.add_argument("--min-confidence", type=float, default=None,
                   help="refuse below this confidence (default 0.5)")
    p.add_argument("--emg-stream", default=None, help="the sEMG stream (default: the first EMG)")
    p.add_argument("--led-box", type=_box, default=None, metavar="X0,Y0,X1,Y1",
                   help="where the trigger LED is in the frame (default: found automatically)")
    p.add_argument("--face-box", type=_box, default=None, metavar="X0,Y0,X1,Y1",
                   help="where to look for taps (default: the whole frame)")
    return p


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from mimicsync.dataset.sync_recording import SyncParams

    params = SyncParams(emg_stream=args.emg_stream, led_box=args.led_box,
                        face_box=args.face_box)
    if args.min_confidence is not None:
        params = replace(params, events=replace(params.events,
                                                min_confidence=args.min_confidence))
    if (args.file is None) == (args.root is None):
        print("mimicsync: error: sync: give one recording FILE or --root STUDY (not both)",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.root is not None:
        if args.report or args.dry_run:
            print("mimicsync: error: --report and --dry-run work on one FILE, not --root",
                  file=sys.stderr)
            return EXIT_BAD_INPUT
        return sync_root(args, params)
    return sync_file(args.file, params, force=args.force, report=args.report,
                     dry_run=args.dry_run, debug=getattr(args, "debug", False))


def sync_file(path: Path, params=None, *, force: bool = False, report: Path | None = None,
              dry_run: bool = False, debug: bool = False) -> int:
    """Synchronize one recording, print the summary, store ``/sync``; the exit code.

    Shared by ``mimicsync sync`` and ``mimicsync demo`` (which ends with a synced file).
    """
    from mimicsync.cli.errors import render
    from mimicsync.dataset.sync_recording import SyncError, SyncParams, synchronize
    from mimicsync.dataset.sync_report import summary_lines, write_png
    from mimicsync.dataset.sync_store import write_sync
    from mimicsync.sync.match import SyncRefused

    path = Path(path)
    try:
        result = synchronize(path, params or SyncParams(), force=force)
    except SyncError as e:
        return _fail(debug, e, render(e), EXIT_BAD_INPUT)
    except SyncRefused as e:
        partial = getattr(e, "sync_result", None)
        if report is not None and partial is not None:  # show what was found
            print(f"report of the refused fit: {write_png(partial, report)}")
        return _fail(debug, e, f"sync refused: {render(e)}; {path.name} is unchanged",
                     EXIT_REFUSED)
    for line in summary_lines(result):
        print(line)
    if report is not None:
        print(f"  report: {write_png(result, report)}")
    if dry_run:
        print("  dry run: nothing written")
        return 0
    try:
        write_sync(path, result, forced=force)
    except OSError as e:
        return _fail(debug, e, f"file: {path} could not be written ({e}); check that it "
                               "is not open in another program and that the disk has space",
                     EXIT_BAD_INPUT)
    print(f"  written: {path}:/sync")
    return 0


def sync_root(args: argparse.Namespace, params) -> int:
    """``--root``: every recording of the study; the table; 0 when none was refused or
    failed (3 when one was refused, 2 when one cannot be synced or failed)."""
    import os

    from mimicsync.dataset.sync_study import CANNOT, FAILED, REFUSED, sync_study, table_lines
    workers = args.workers if args.workers is not None else max(1, (os.cpu_count() or 2) - 1)
    rows = sync_study(args.root, params, force=args.force, workers=workers,
                      scheduler=args.scheduler, progress=not args.no_progress)
    for line in table_lines(rows):
        print(line)
    status = {r.status for r in rows}
    return EXIT_BAD_INPUT if status & {CANNOT, FAILED} else EXIT_REFUSED if REFUSED in status else 0


def _fail(debug: bool, exc: BaseException, message: str, code: int) -> int:
    if debug:
        raise exc
    print(f"mimicsync: error: {message}", file=sys.stderr)
    return code
