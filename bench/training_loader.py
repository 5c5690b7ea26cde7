"""Training-loader benchmark: items/s through a real ``torch.utils.data.DataLoader``.

For 0 and 2 worker processes, three item kinds, each beside an in-memory numpy dataset
that returns items of the same shapes and keys (measured in the same run):

(a) raw 0.5 s windows read from the recordings (2048 x 64 float32, HDF5);
(b) feature-store windows (``mimicsync features --preset bioface``: 512 x 63 float16,
    memory-mapped ``.npy``);
(c) feature-store windows + 256 x 256 face crops.

Each kind is read once before it is measured (warm page cache, as in bench/reader.py;
the first epoch over a cold store is disk-bound). Goals (issue 12, 2-core box): (b) >= 10,000 items/s and >= 80 % of its baseline; (c) >=
1,000 items/s. Worker memory: USS (private) and RSS (with shared page cache) per worker.
torch is a bench extra (``pip install 'mimicsync[bench]'``); the library never imports it.
Each kind is also read in whole batches (``batch_size=None`` + ``BatchSampler``: the
dataset gathers a batch in one go, ``FrameDataset.batch``), beside a batched baseline.
Usage: ``python bench/training_loader.py [--recordings 3] [--duration 20] [--seconds 3]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import psutil


class InMemory:
    """The baseline: the same item dicts, sliced from arrays already in memory."""

    def __init__(self, like, n_items: int) -> None:
        item = like[0]
        self.n = n_items
        win = item["emg"]
        self.signal = np.random.default_rng(0).normal(size=(n_items + win.shape[0], win.shape[1])
                                                      ).astype(win.dtype)
        self.window = win.shape[0]
        self.frames = None
        if "frame" in item:  # 256 distinct pictures, indexed modulo: same shapes and copies
            self.frames = np.random.default_rng(1).integers(
                0, 255, (256, *item["frame"].shape), dtype=np.uint8)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        if isinstance(i, list):  # a whole batch, gathered like FrameDataset.batch
            idx = np.asarray(i)
            out = {"emg": self.signal[idx[:, None] + np.arange(self.window)],
                   "label": idx % 5, "movement": ["rest"] * len(idx), "time": idx * 1.0,
                   "recording": idx * 0, "frame_index": idx}
            if self.frames is not None:
                out["frame"] = self.frames[idx % 256]
            return out
        item = {"emg": np.array(self.signal[i: i + self.window]), "label": i % 5,
                "movement": "rest", "time": float(i), "recording": 0, "frame_index": i}
        if self.frames is not None:
            item["frame"] = np.array(self.frames[i % 256])
        return item


def _loader_rate(ds, workers: int, seconds: float, batch: int, batched: bool = False
                 ) -> tuple[float, float, list]:
    """(items/s after the first batch, start-up s, worker memory [(uss, rss) MiB]).

    ``batched``: the dataset is given whole index lists (``batch_size=None`` and a
    ``BatchSampler``), so it gathers a batch at once; else item by item + default_collate.
    """
    import torch.utils.data as tud
    common = dict(num_workers=workers, persistent_workers=workers > 0,
                  prefetch_factor=4 if workers else None)
    if batched:
        sampler = tud.BatchSampler(tud.RandomSampler(range(len(ds))), batch, drop_last=False)
        dl = tud.DataLoader(ds, batch_size=None, sampler=sampler, **common)
    else:
        dl = tud.DataLoader(ds, batch_size=batch, shuffle=True, **common)
    t_start = time.perf_counter()
    it = iter(dl)
    next(it)
    startup = time.perf_counter() - t_start
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        try:
            b = next(it)
        except StopIteration:
            it = iter(dl)
            continue
        n += len(b["label"])
    rate = n / (time.perf_counter() - t0)
    mem = []
    for c in psutil.Process().children(recursive=True):
        try:
            fm = c.memory_full_info()
            mem.append((fm.uss / 2**20, fm.rss / 2**20))
        except psutil.Error:
            pass
    del it, dl
    return rate, startup, mem


def _study(root: Path, n: int, duration: float) -> list:
    from mimicsync.acquisition.simulators.recordings import write_simulated_recording
    from mimicsync.dataset import Study
    from mimicsync.dataset.layout import RecordingId
    for i in range(n):
        rid = RecordingId(f"{i + 1:02d}", "01", "functional", 1, "S")
        if not rid.path(root).exists():  # --dir: a second run reuses the study
            write_simulated_recording(root, rid, duration_s=duration, width=320, height=240,
                                      depth=False, seed=i)
    return Study(root).recordings()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recordings", type=int, default=3)
    ap.add_argument("--duration", type=float, default=20.0, help="each recording, s")
    ap.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--dir", type=Path, default=None, help="work folder (default: temporary)")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")  # simulated recordings are not synchronised
    os.environ["PYTHONWARNINGS"] = "ignore::UserWarning"  # ... in the spawned workers too

    from mimicsync.dataset import FrameDataset, WindowSpec
    from mimicsync.dataset.feature_store import ensure_features
    from mimicsync.dataset.features import preset

    tmp = tempfile.TemporaryDirectory() if args.dir is None else None
    root = Path(tmp.name if tmp else args.dir)
    t0 = time.perf_counter()
    refs = _study(root, args.recordings, args.duration)
    print(f"study: {len(refs)} recordings x {args.duration:g} s (64 ch at 4096 Hz, "
          f"320x240 video) written in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    ensure_features(refs, preset("bioface"), progress=False,
                    workers=min(2, os.cpu_count() or 1))
    print(f"features bioface (with crops): {time.perf_counter() - t0:.1f} s")
    kinds = {
        "(a) raw 0.5 s windows": FrameDataset(refs, WindowSpec(0.5, "start", fps=20.0),
                                              frames=False),
        "(b) feature-store windows": FrameDataset(refs, features="bioface", frames=False),
        "(c) windows + 256x256 crops": FrameDataset(refs, features="bioface"),
    }
    print(f"load: {os.getloadavg()[0]:.1f} (1-min average; the machine is shared)")
    print(f"{'items':<37} {'workers':>7} {'items/s':>9} {'in-memory':>10} {'ratio':>6} "
          f"{'start s':>7}  worker MiB (USS / RSS)")
    runs = [(name, ds, False) for name, ds in kinds.items()] + [
        (name.replace(")", ") batched", 1), ds, True) for name, ds in kinds.items()
        if "raw" not in name]
    for name, ds, batched in runs:
        for a in range(0, len(ds), 256):  # warm: the page cache holds the store (and HDF5)
            ds[list(range(a, min(len(ds), a + 256)))]
        base = InMemory(ds, len(ds))
        shape = " x ".join(str(v) for v in ds[0]["emg"].shape)
        for workers in (0, 2):
            rate, startup, mem = _loader_rate(ds, workers, args.seconds, args.batch, batched)
            brate, _, _ = _loader_rate(base, workers, args.seconds, args.batch, batched)
            m = ", ".join(f"{u:.0f} / {r:.0f}" for u, r in mem) or "-"
            print(f"{name:<37} {workers:>7} {rate:>9,.0f} {brate:>10,.0f} {rate / brate:>6.2f} "
                  f"{startup:>7.2f}  {m}", flush=True)
        print(f"{'':<37} (emg {shape} {ds[0]['emg'].dtype}, {len(ds)} items, batch "
              f"{args.batch})")
    if tmp:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
