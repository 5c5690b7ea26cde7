"""Recorder throughput at full rate: 64 ch x 4096 Hz sEMG, 1280x720 colour + 848x480 depth at 30 fps, markers.

The camera films photographic footage with D4xx depth and YUY2 colour (what
bench/storage.py measures on), recorded with the default settings (format.DEFAULT_JPEG_QUALITY,
format.DEFAULT_DEPTH; depth ranked + row-difference + Blosc-Zstd).

Prints:
  1. live run (default 5 min of input through real LSL and the real recorder): dropped
     samples and frames, CPU share per thread group, MB per minute;
  2. the writer alone (RecordingWriter, pre-generated data, as fast as it goes), in times
     real time, against a baseline in the same process: the same bytes written with
     plain buffered file writes. As in the recorder, colour arrives as JPEG and depth
     already compressed (the encoder thread's work), so this is the writer thread's share;
  3. the encoder thread's rate: JPEG and depth encoding per frame, on one core.

    python bench/record_throughput.py [--minutes 5] [--writer-seconds 60]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psutil
import pylsl
from storage_file import BEFORE_JPEG_QUALITY, jpeg_before  # bench/storage_file.py

from mimicsync.acquisition.recorder import Recorder
from mimicsync.acquisition.recorder_setup import RecorderConfig
from mimicsync.acquisition.simulators.camera import SimulatedCamera
from mimicsync.acquisition.simulators.camera_physics import CameraPhysics
from mimicsync.acquisition.simulators.devices import SimSettings, SimulatedLab
from mimicsync.acquisition.simulators.scenario import Movement, Scenario, tap_block
from mimicsync.acquisition.stream_select import StreamSelector
from mimicsync.dataset import depth_codec
from mimicsync.dataset.events import Event
from mimicsync.dataset.layout import RecordingId
from mimicsync.dataset.recording import Recording
from mimicsync.dataset.recording_writer import RecordingWriter
from mimicsync.dataset.stream_meta import StreamMeta
from mimicsync.format import DEFAULT_DEPTH, DEFAULT_JPEG_QUALITY, DepthMode

W, H, FPS, SRATE = 1280, 720, 30.0, 4096.0
DEPTH = DepthMode.parse(DEFAULT_DEPTH)


def busy_scenario(t0: float, seconds: float) -> Scenario:
    """Movements all the time and taps every 20 s: the face and the EMG keep changing."""
    sc = Scenario()
    moves = ["smile-open", "forehead", "eyes-tight", "anger", "happiness", "lip-pucker"]
    t, i = t0 + 1.0, 0
    while t < t0 + seconds:
        sc.add_movement(Movement(t, t + 3.0, moves[i % len(moves)]))
        t, i = t + 5.0, i + 1
    for k in range(int(seconds // 20) + 1):
        for tap in tap_block(t0 + 2.0 + 20.0 * k):
            sc.add_tap(tap)
    return sc


def thread_cpu(groups: dict[str, tuple[str, ...]]) -> dict[str, float]:
    """CPU seconds per group of thread-name prefixes (native ids mapped to names)."""
    by_id = {t.native_id: t.name for t in threading.enumerate()}
    out = {g: 0.0 for g in groups}
    out[OTHER] = 0.0
    out[NATIVE] = 0.0
    for th in psutil.Process().threads():
        if th.id not in by_id:  # threads started by C libraries, not by Python
            out[NATIVE] += th.user_time + th.system_time
            continue
        name = by_id[th.id]
        group = next((g for g, prefixes in groups.items() if name.startswith(prefixes)), OTHER)
        out[group] += th.user_time + th.system_time
    return out


OTHER = "other Python threads (simulators, main)"
NATIVE = "native threads (liblsl I/O, Blosc compression)"


GROUPS = {"recorder: inlets": ("inlet:",), "recorder: writer": ("writer",),
          "recorder: encoder (JPEG + depth)": ("encoder",), "recorder: discovery": ("discovery",),
          "camera thread (sim render + frame-index push)": ("camera:",)}


def live(minutes: float, root: Path) -> None:
    seconds = minutes * 60.0
    t0 = pylsl.local_clock() + 1.0
    settings = SimSettings(suffix=f"bench{os.getpid()}", width=W, height=H, fps=FPS,
                           depth_size=DEPTH.size, footage="photo", color_transport="yuyv")
    lab = SimulatedLab(settings, scenario=busy_scenario(t0, seconds + 5))
    rid = RecordingId("bench", "01", "throughput", 1)
    with lab:
        cfg = RecorderConfig(root=root, rid=rid, camera=lab.camera, resolve_wait=5.0,
                             depth_max_m=DEPTH.max_m,
                             require=[StreamSelector("source_id", lab.emg.source_id)],
                             streams=[StreamSelector("name", settings.name("mimicsync-scenario-markers"))])
        rec = Recorder(cfg)
        rec.start()
        cpu0, wall0 = thread_cpu(GROUPS), time.monotonic()
        proc0 = psutil.Process().cpu_times()
        backlog = 0
        while time.monotonic() - wall0 < seconds:
            time.sleep(5.0)
            backlog = max(backlog, rec.status().encoder_backlog)
            rec.add_events([Event(pylsl.local_clock(), 0.0, "marker", "bench tick")])
        cpu1, wall1 = thread_cpu(GROUPS), time.monotonic()
        proc1 = psutil.Process().cpu_times()
        path = rec.stop()
    wall = wall1 - wall0
    with Recording(path) as r:
        summ = r.summary()
        emg = r.stream(lab.emg.source_id if lab.emg.source_id in r.streams else lab.emg.name)
        ts = emg.time_stamps
        expected = int(round((ts[-1] - ts[0]) * SRATE)) + 1
        dropped_samples = expected - len(ts)
        v = summ["video"]
    size = path.stat().st_size
    print(f"== live recording: {wall:.0f} s of input ({minutes:g} min), {W}x{H} colour + "
          f"{DEPTH} depth @ {FPS:g} fps (photo footage), 64 ch @ {SRATE:g} Hz, markers; "
          f"uptime {os.popen('uptime').read().strip()}")
    print(f"EMG samples recorded: {len(ts)}  dropped: {dropped_samples} (goal 0)")
    print(f"video frames recorded: {v['frames']}  dropped: {v['dropped']} (device counter gaps) "
          f"+ {rec.encoder_dropped} (encoder)  (goal 0); max encoder backlog {backlog} frames")
    print(f"file: {size / 1e6:.0f} MB = {size / 1e6 / (wall / 60):.0f} MB per minute")
    rec_cpu = 0.0
    for g in GROUPS:
        share = (cpu1[g] - cpu0[g]) / wall
        if g.startswith("recorder"):
            rec_cpu += share
        print(f"  CPU {g:<48} {100 * share:6.1f} % of one core")
    for g in (NATIVE, OTHER):
        print(f"  CPU {g:<48} {100 * (cpu1[g] - cpu0[g]) / wall:6.1f} % of one core")
    total = (proc1.user + proc1.system - proc0.user - proc0.system) / wall
    print(f"recorder CPU share (its Python threads: inlets+writer+encoder+discovery): "
          f"{100 * rec_cpu:.1f} % of one core = {100 * rec_cpu / psutil.cpu_count():.1f} % of "
          f"the machine, plus its part of the native threads; whole process (recorder + "
          f"simulated devices) {100 * total:.1f} % of one core")


def writer_alone(seconds: float, root: Path) -> None:
    """The RecordingWriter fed pre-made data as fast as possible: the defaults before
    (1280x720 depth, Blosc-LZ4) and now, and plain file writes as the baseline."""
    before = _writer_run(seconds, root, "before", (W, H), depth_codec.NONE)
    now = _writer_run(seconds, root, "now", DEPTH.size, depth_codec.DEFAULT, DEPTH.max_m)
    print(f"   writer speed now / before: {before / now:.2f}")


def _writer_run(seconds: float, root: Path, label: str, depth_size: tuple[int, int],
                depth_filter: str, depth_max_m: float = 0.0) -> float:
    cam = SimulatedCamera(busy_scenario(0.0, 10.0), width=W, height=H, fps=FPS, realtime=False,
                          depth_size=depth_size, footage="photo",  # colour as a D4xx sends it
                          physics=CameraPhysics(transport="yuyv"))
    info = cam.start()
    frames = [cam.read() for _ in range(30)]
    cam.stop()
    depth = np.stack([depth_codec.within_range(f.depth, depth_max_m, info.depth_scale_m)
                      for f in frames])
    encoded = [depth_codec.encode_frame(d, depth_filter) for d in depth]
    rng = np.random.default_rng(0)
    emg = (rng.standard_normal((int(SRATE), 64)) * 5).astype(np.float32)
    meta = StreamMeta("emg", "EMG", "emg", "host", SRATE, "float32", 64)
    fmeta = StreamMeta("frames", "VideoFrames", "frames", "host", FPS, "double64", 4)
    part = root / f"writer-{label}.h5.part"
    wr = RecordingWriter(part, root / f"writer-{label}.h5", {}, {})
    wr.add_stream(meta, "emg")
    wr.add_stream(fmeta, "frames")
    wr.add_video(info, "frames", depth_filter=depth_filter, depth_max_m=depth_max_m)
    encode = wr.encode_color if label == "now" else jpeg_before
    quality = DEFAULT_JPEG_QUALITY if label == "now" else BEFORE_JPEG_QUALITY
    jpegs = [encode(f.color) for f in frames]
    wr.start_swmr()
    t = time.perf_counter()
    for s in range(int(seconds)):
        for q in range(4):  # the recorder writes in 4 flushes per second at most
            sl = slice(q * 1024, (q + 1) * 1024)
            wr.append_samples("emg", emg[sl], s + np.arange(1024) / SRATE)
            rows = np.array([[s * 30 + i, s * 30 + i, 0.0, s + i / 30] for i in range(q * 8, min(30, q * 8 + 8))])
            k = len(rows)
            if k:
                wr.append_video(rows, jpegs[q * 8:q * 8 + k], encoded[q * 8:q * 8 + k])
                wr.append_samples("frames", rows, rows[:, 3])
            wr.flush()
    cpu_elapsed = time.perf_counter() - t  # data handed to the OS (page cache)
    path = wr.finalize({})  # includes fsync: everything on the physical disk
    elapsed = time.perf_counter() - t
    size = path.stat().st_size
    # baseline: the same number of bytes, plain buffered writes + one fsync per second of data
    raw_emg = emg.tobytes()
    raw_video = b"".join(jpegs) + depth.tobytes()
    t = time.perf_counter()
    with open(root / "baseline.bin", "wb") as fh:
        for s in range(int(seconds)):
            fh.write(raw_emg)
            fh.write(raw_video)
            fh.flush()
            os.fsync(fh.fileno())
    base_elapsed = time.perf_counter() - t
    base_size = (root / "baseline.bin").stat().st_size
    print(f"== writer alone, defaults {label}: {seconds:g} s of full-rate data, file "
          f"{size / 1e6:.0f} MB = {size / 1e6 / (seconds / 60):.0f} MB/min (JPEG q"
          f"{quality}, depth {depth_size[0]}x{depth_size[1]}{f':{depth_max_m:g}' if depth_max_m else ''} {depth_filter}); "
          f"uptime {os.popen('uptime').read().strip()}")
    print(f"   HDF5 + compression, until handed to the OS: {cpu_elapsed:.2f} s = "
          f"{seconds / cpu_elapsed:.1f}x real time (goal >= 8x)")
    print(f"   including fsync of the whole file to the physical disk: {elapsed:.2f} s = "
          f"{seconds / elapsed:.1f}x real time ({size / 1e6 / elapsed:.0f} MB/s)")
    print(f"   baseline (same process, plain file writes of the uncompressed bytes + fsync "
          f"each second, {base_size / 1e6:.0f} MB): {seconds / base_elapsed:.1f}x real time "
          f"({base_size / 1e6 / base_elapsed:.0f} MB/s); writer-with-fsync / baseline speed "
          f"ratio {base_elapsed / elapsed:.2f}")
    _encoder_rate(frames, encode, quality, depth_filter, label, depth_max_m, info.depth_scale_m)
    return elapsed



def _encoder_rate(frames: list, encode: Callable, quality: int, depth_filter: str, label: str,
                  depth_max_m: float, scale_m: float) -> None:
    """What the recorder's encoder thread does per frame, timed for 3 s each."""
    def rate(work) -> float:
        t, n = time.perf_counter(), 0
        while time.perf_counter() - t < 3.0:
            work(frames[n % len(frames)])
            n += 1
        return n / (time.perf_counter() - t)

    jpeg = rate(lambda f: encode(f.color))
    depth = rate(lambda f: depth_codec.encode_frame(
        depth_codec.within_range(f.depth, depth_max_m, scale_m), depth_filter))
    both = 1.0 / (1.0 / jpeg + 1.0 / depth)
    dh, dw = frames[0].depth.shape
    print(f"== encoder thread, defaults {label}: JPEG q{quality} {W}x{H} {jpeg:.0f} "
          f"frames/s, depth {dw}x{dh} {depth_filter} {depth:.0f} frames/s; both "
          f"{both:.0f} frames/s on one core = {both / FPS:.1f}x real time "
          f"({100 * FPS / both:.0f} % of a core at {FPS:g} fps)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--writer-seconds", type=float, default=60.0)
    ap.add_argument("--skip-live", action="store_true")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="mimicsync-bench-"))
    try:
        writer_alone(args.writer_seconds, root)
        if not args.skip_live:
            live(args.minutes, root / "live")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
