"""CLI commands for datasets: ``import-xdf``, ``export``, ``validate``, ``features``.

:mod:`cli.main` adds them with :func:`add_parsers`, dispatches through :data:`COMMANDS`
and reports errors as one line like every other command (:mod:`mimicsync.cli.errors`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from mimicsync.dataset.bids_export import ExportConfig, export_study
from mimicsync.dataset.bids_validate import validate
from mimicsync.dataset.layout import RecordingId, check_label, next_free_run


def import_xdf_cmd(args: argparse.Namespace) -> int:
    from mimicsync.dataset.xdf_import import import_xdf
    check_label("participant", args.participant)
    check_label("session", args.session)
    check_label("task", args.task)
    check_label("acq", args.acq, optional=True)
    base = RecordingId(args.participant, args.session, args.task, 1, args.acq)
    rid = base.with_run(args.run if args.run is not None else next_free_run(args.root, base))
    path = import_xdf(args.file, args.root, rid, operator=args.operator,
                      say=lambda line: print(line, file=sys.stderr))
    print(f"imported: {path}")
    return 0


def export_cmd(args: argparse.Namespace) -> int:
    workers = args.workers if args.workers is not None else max(1, (os.cpu_count() or 2) - 1)
    cfg = ExportConfig(name=args.name, license=args.license, authors=tuple(args.author),
                       line_freq=args.line_freq, emg_reference=args.emg_reference,
                       emg_ground=args.emg_ground, video=not args.no_video)
    rep = export_study(args.root, args.out, update=args.update, workers=workers,
                       scheduler=args.scheduler, config=cfg, progress=not args.no_progress)
    print(f"exported {len(rep.exported)} recordings to {rep.out} ({rep.reused} unchanged, "
          f"{len(rep.removed)} files removed, {len(rep.skipped)} skipped lines above)")
    return 0


def validate_cmd(args: argparse.Namespace) -> int:
    rep = validate(args.dir, run_official=not args.no_official)
    for line in rep.problems:
        print(f"mimicsync: {line}")
    for line in rep.errors:
        print(f"bids-validator error: {line}")
    if args.warnings:
        for line in rep.warnings:
            print(f"bids-validator warning: {line}")
    official = (f"official validator: {len(rep.errors)} errors, {len(rep.warnings)} warnings"
                if rep.official_ran else "official validator: not run")
    print(f"{'valid' if rep.ok else 'NOT valid'}: {len(rep.problems)} mimicsync problems; "
          f"{official}")
    return 0 if rep.ok else 1


def features_cmd(args: argparse.Namespace) -> int:
    from mimicsync.dataset.feature_store import study_features
    from mimicsync.dataset.features import DERIVATIVES, preset
    workers = args.workers if args.workers is not None else max(1, (os.cpu_count() or 2) - 1)
    params = preset(args.preset)
    if args.no_crops:
        from dataclasses import replace
        params = replace(params, crops=False)
    res = study_features(args.root, params, workers=workers, scheduler=args.scheduler,
                         progress=not args.no_progress)
    new = [r for r in res if r.computed]
    for r in new:
        for note in r.notes:
            print(f"{Path(r.recording).name}: {note}")
    print(f"features {params.name}: {len(new)} computed, {len(res) - len(new)} up to date, "
          f"in {Path(args.root) / DERIVATIVES}")
    return 0


COMMANDS = {"import-xdf": import_xdf_cmd, "export": export_cmd, "validate": validate_cmd,
            "features": features_cmd}


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add the dataset commands to ``mimicsync``'s subparsers."""
    x = sub.add_parser("import-xdf", help="convert a LabRecorder XDF file into a recording")
    x.add_argument("file", type=Path, help="the .xdf file")
    x.add_argument("--root", type=Path, required=True, help="study root folder")
    x.add_argument("--participant", required=True)
    x.add_argument("--session", default="01")
    x.add_argument("--task", default="imported")
    x.add_argument("--acq", default=None)
    x.add_argument("--run", type=int, default=None, help="default: the next free run")
    x.add_argument("--operator", default="")

    e = sub.add_parser("export", help="write the consenting participants as a BIDS dataset")
    e.add_argument("--root", type=Path, required=True, help="private study root")
    e.add_argument("--out", type=Path, required=True, help="output folder (empty, or --update)")
    e.add_argument("--update", action="store_true",
                   help="update an existing export: redo what changed, drop what is withdrawn")
    e.add_argument("--workers", type=int, default=None,
                   help="local worker processes (default: CPUs - 1; 1 = no pool)")
    e.add_argument("--scheduler", default=None, metavar="ADDR",
                   help="run on a Dask cluster, e.g. tcp://host:8786 (needs mimicsync[dask])")
    e.add_argument("--name", default=ExportConfig.name, help="dataset name")
    e.add_argument("--license", default=ExportConfig.license, help="SPDX id, e.g. CC-BY-4.0")
    e.add_argument("--author", action="append", default=[], help="dataset author; repeatable")
    e.add_argument("--line-freq", type=float, default=50.0, help="power line frequency, Hz")
    e.add_argument("--emg-reference", default="n/a", help="EMGReference text for _emg.json")
    e.add_argument("--emg-ground", default="n/a", help="EMGGround text for _emg.json")
    e.add_argument("--no-video", action="store_true", help="never export video")
    e.add_argument("--no-progress", action="store_true")

    f = sub.add_parser("features", help="compute the training features of every recording "
                                        "once (derivatives/mimicsync-features/)")
    f.add_argument("--root", type=Path, required=True, help="study root")
    f.add_argument("--preset", default="bioface",
                   help="bioface (20 fps, 0.5 s band-passed windows, 256x256 face crops) or "
                        "eifer (Fridlund envelopes ending at each frame)")
    f.add_argument("--no-crops", action="store_true", help="leave out the face crops")
    f.add_argument("--workers", type=int, default=None,
                   help="local worker processes (default: CPUs - 1; 1 = no pool)")
    f.add_argument("--scheduler", default=None, metavar="ADDR",
                   help="run on a Dask cluster, e.g. tcp://host:8786 (needs mimicsync[dask])")
    f.add_argument("--no-progress", action="store_true")

    v = sub.add_parser("validate", help="check an exported dataset (ours + bids-validator)")
    v.add_argument("dir", type=Path)
    v.add_argument("--no-official", action="store_true", help="skip bids-validator-deno")
    v.add_argument("--warnings", action="store_true", help="also list the validator warnings")

