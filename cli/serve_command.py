"""``mimicsync serve``: a headless recorder that experiment scripts drive over TCP.

The scripts speak LabRecorder's remote control (port 22345, ``select all``, ``filename
{…}``, ``start``, ``stop`` …) and get one reply line per command. The recording itself is
``mimicsync record``'s (protocols.visit.record_block); the protocol logic lives in
``protocols/remote_*``, this module only wires flags to it and runs until Ctrl-C/SIGTERM.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mimicsync.acquisition.recorder_setup import GiB
from mimicsync.dataset.layout import check_label
from mimicsync.protocols.device_setup import DeviceSetup, SetupError
from mimicsync.protocols.remote_control import Naming, RemoteController
from mimicsync.protocols.remote_recorder import HeadlessBackend
from mimicsync.protocols.remote_server import DEFAULT_PORT, RemoteControlServer, is_loopback
from mimicsync.protocols.visit import RecordOptions


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", type=Path, required=True, help="study root folder")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"TCP port (default {DEFAULT_PORT}, LabRecorder's)")
    p.add_argument("--bind", default="127.0.0.1", metavar="ADDRESS",
                   help="listen on this address (default 127.0.0.1: this machine only); "
                        "another address lets anyone who reaches it start and stop recordings")
    p.add_argument("--participant", default=None, help="until a client sends filename {participant:…}")
    p.add_argument("--session", default=None)
    p.add_argument("--task", default=None)
    p.add_argument("--acq", default=None)
    p.add_argument("--auto-start", action="store_true",
                   help="start recording by itself once every --require stream is on the network")
    p.add_argument("--language", choices=("en", "de"), default="en",
                   help="cue language of 'protocol NAME' runs (default en)")


def _say(text: str) -> None:
    print(f"serve: {text}", file=sys.stderr, flush=True)


def serve(args: argparse.Namespace) -> int:
    from mimicsync.cli.commands import (
        UsageError,
        _setup_error,
        _setup_overrides,
        _started,
    )
    from mimicsync.cli.lsl_commands import stop_on_signal, until_signal
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port: {args.port} is not a TCP port; give 1-65535 (default {DEFAULT_PORT})")
    if args.auto_start and not args.require:
        raise UsageError("--auto-start: nothing to wait for; add --require SEL for the streams "
                         "that must be there (e.g. --require type=EMG)")
    for name in ("participant", "session", "task", "acq"):
        check_label(name, getattr(args, name), optional=True)
    try:
        setup = DeviceSetup(**_setup_overrides(args))
    except SetupError as e:
        raise _setup_error(e) from None
    options = RecordOptions(operator=args.operator, min_free_bytes=int(args.min_free_gb * GiB),
                            on_started=_started, on_note=lambda t: _say(f"note: {t}"),
                            app="mimicsync serve")
    backend = HeadlessBackend(setup, options, language=args.language)
    naming = Naming(args.root, args.participant, args.session, args.task, args.acq)
    controller = RemoteController(backend, naming, on_log=_say)
    stop = stop_on_signal()  # before "listening": a client may signal right after it
    server = RemoteControlServer(controller, args.bind, args.port, on_log=_say).start()
    if not is_loopback(args.bind):
        print(f"warning: remote control listens on {args.bind}:{server.port}: anyone who can "
              "reach it can start and stop recordings; use only on a trusted lab network",
              file=sys.stderr)
    _say(f"listening on {args.bind}:{server.port} (LabRecorder remote control with replies); "
         f"next recording: {naming.describe()} (Ctrl-C to quit)")
    if args.auto_start:
        controller.arm_auto_start()
        _say(f"auto-start: {controller.auto_start}")
    try:
        until_signal(None, stop)
    finally:
        server.close()
        saved = controller.close()
        if saved:
            _say(f"stop: {saved}")
    return 0
