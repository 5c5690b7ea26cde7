"""Reader benchmark: what training code and analysts feel.

Prints
- random per-frame EMG windows per second (FrameDataset.emg_window; goal >= 10,000),
- full items per second (window + decoded frame + label),
- sequential and random colour-frame decode rates,
- the time to load a recording's sEMG on the common timeline, against pyxdf loading the
  same streams written as XDF (the LabRecorder format).

The recording is simulated faster than real time (64 ch at 4096 Hz + video), in a
temporary folder. Usage: ``python bench/reader.py [--duration 60] [--width 640 --height 480]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _rate(fn, n_min: int, seconds: float) -> float:
    """Calls per second of ``fn(k)`` over at least ``n_min`` calls and ``seconds``."""
    k, t0 = 0, time.perf_counter()
    while k < n_min or time.perf_counter() - t0 < seconds:
        fn(k)
        k += 1
    return k / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=60.0, help="recording length, s")
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--window", type=float, default=0.5, help="EMG window per frame, s")
    ap.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    ap.add_argument("--dir", type=Path, default=None, help="work folder (default: temporary)")
    args = ap.parse_args(argv)

    import pyxdf

    from mimicsync.acquisition.simulators.recordings import write_simulated_recording
    from mimicsync.dataset import FrameDataset, Recording, WindowSpec
    from mimicsync.dataset.layout import RecordingId
    from mimicsync.dataset.xdf_writer import recording_streams, write_xdf

    work = args.dir or Path(tempfile.mkdtemp(prefix="mimicsync-bench-reader-"))
    t = time.perf_counter()
    path = write_simulated_recording(work / "study", RecordingId("bench", "01", "functional", 1),
                                     duration_s=args.duration, width=args.width,
                                     height=args.height, depth=False)
    print(f"simulated {args.duration:g} s (64 ch at 4096 Hz, {args.width}x{args.height} "
          f"video) in {time.perf_counter() - t:.1f} s: {path.stat().st_size / 1e6:.0f} MB")

    ds = FrameDataset([path], WindowSpec(args.window, "start"))
    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(ds), 1_000_000)
    n = ds._n[0]
    r = _rate(lambda k: ds.emg_window(int(idx[k])), 5000, args.seconds)
    print(f"random per-frame EMG windows ({n}x64 float32): {r:,.0f} /s "
          f"({'meets' if r >= 10_000 else 'BELOW'} the 10,000 /s goal)")
    r = _rate(lambda k: ds[int(idx[k])], 200, args.seconds)
    print(f"random full items (window + decoded frame + label): {r:,.0f} /s")
    ds.close()

    with Recording(path) as rec:
        nf = rec.n_frames
        r = _rate(lambda k: rec.color(k % nf), min(nf, 300), args.seconds)
        print(f"sequential frame decode ({args.width}x{args.height} JPEG): {r:,.0f} frames/s")
        fr = rng.integers(0, nf, 100_000)
        r = _rate(lambda k: rec.color(int(fr[k])), 300, args.seconds)
        print(f"random frame decode: {r:,.0f} frames/s")
        xdf = work / "same.xdf"
        write_xdf(xdf, recording_streams(rec))

    def load_mimicsync():
        with Recording(path) as rec:
            s = rec.emg_stream()
            return s.physical(), rec.timeline(s.key), rec.events

    def load_pyxdf(sync: bool):
        return pyxdf.load_xdf(str(xdf), synchronize_clocks=sync, dejitter_timestamps=False)

    for _ in range(2):  # second round: warm page cache for both
        t = time.perf_counter()
        load_mimicsync()
        t_ms = time.perf_counter() - t
        t = time.perf_counter()
        load_pyxdf(True)
        t_xdf = time.perf_counter() - t
        t = time.perf_counter()
        load_pyxdf(False)
        t_raw = time.perf_counter() - t
    print(f"load sEMG on the common timeline: mimicsync {t_ms:.2f} s; pyxdf (clock sync) "
          f"{t_xdf:.2f} s, pyxdf raw {t_raw:.2f} s -> {t_xdf / t_ms:.1f}x faster "
          f"(XDF {xdf.stat().st_size / 1e6:.0f} MB)")
    if args.dir is None:
        import shutil
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
