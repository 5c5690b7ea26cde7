"""A map-style dataset of video frames with their EMG windows, for PyTorch or anything else.

``FrameDataset`` has ``__len__`` and ``__getitem__`` returning a dict of numpy arrays and
scalars, which ``torch.utils.data.DataLoader`` takes as it is (its default collate turns
arrays into tensors); torch is never imported here.

Worker processes: the index (which frame of which file, which EMG samples) is built in
the parent and is plain numpy, so it pickles cheaply to spawned workers and is shared
copy-on-write with forked ones. HDF5 files are opened lazily *in the process that reads*
(h5py handles must not cross a fork), recognised by the process id, and at most
``max_open`` stay open per process.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from mimicsync.dataset.feature_store import RecordingFeatures, ensure_features, load_features
from mimicsync.dataset.features import FeatureParams, preset
from mimicsync.dataset.frame_views import FrameWindows, WindowSpec, frame_windows
from mimicsync.dataset.labels import class_names, context_masks
from mimicsync.dataset.layout import LabelError
from mimicsync.dataset.recording import Recording, RecordingError, recovery_hint
from mimicsync.dataset.study import RecordingRef, open_recording, recording_id

# 64 MiB of HDF5 chunk cache per open file: neighbouring windows come from memory.
DEFAULT_CACHE_BYTES = 64 << 20


def _entities(r: str | Path | RecordingRef) -> tuple[str, str]:
    """(participant, session) of a recording, from its BIDS name ("n/a" if it has none)."""
    if isinstance(r, RecordingRef):
        return r.rid.participant, r.rid.session
    try:
        rid = recording_id(r)
        return rid.participant, rid.session
    except LabelError:
        return "n/a", "n/a"


class FrameDataset:
    """One item per video frame (or per ``window.fps`` grid time) with a valid EMG window,
    over many recordings.

    Item keys: ``emg`` (window, ``(n, channels)`` float32 in the channel units, channels
    in the stream's order, trigger included), ``label`` (int, index into
    :attr:`classes`), ``movement`` (str), ``time`` (s, common timeline: the window's
    anchor), ``recording`` (int, index into :attr:`paths`), ``frame_index`` (int, the
    nearest recorded frame), and, when asked for, ``frame`` ((H, W, 3) uint8 RGB) and
    ``depth`` ((h, w) uint16). ``transform`` (optional) is applied to the item dict last.

    ``features`` (a preset name such as ``"bioface"``, or :class:`FeatureParams`): items
    come from the feature store (:mod:`.features`; computed first where missing or
    stale): ``emg`` is then the processed ``(window, k)`` window in the stored dtype
    (channels: ``feature_channels``), ``frame`` the stored face crop when the preset has
    crops, and the preset's window and frame rate replace ``window``.

    Per-item arrays for splits and masks: :attr:`participants`, :attr:`sessions`,
    :attr:`recordings`, :attr:`labels`, :attr:`masks` (``tap_block``, ``tap``,
    ``annotation``). Unsynchronised recordings give one
    :class:`~mimicsync.dataset.recording.UnsyncedWarning` each, or an error with
    ``require_synced=True``.
    """

    def __init__(self, recordings: Iterable[str | Path | RecordingRef],
                 window: WindowSpec = WindowSpec(), *, frames: bool = True,
                 depth: bool = False, stream_key: str | None = None,
                 transform: Callable[[dict], dict] | None = None,
                 require_synced: bool = False, features: str | FeatureParams | None = None,
                 feature_root: str | Path | None = None, workers: int = 1,
                 cache_bytes: int = DEFAULT_CACHE_BYTES, max_open: int = 16) -> None:
        recordings = list(recordings)
        self.paths = [r.path if isinstance(r, RecordingRef) else Path(r) for r in recordings]
        ents = [_entities(r) for r in recordings]
        self.with_frames, self.with_depth = frames, depth
        self.transform = transform
        self.cache_bytes, self.max_open = cache_bytes, max_open
        self._scales: list[np.ndarray | None] = []
        self._sidecars: list[str] = []
        self._stores: dict[int, RecordingFeatures] = {}
        self._open: OrderedDict[int, Recording] = OrderedDict()
        self._readers: dict = {}
        self._pid = os.getpid()
        self.feature_channels: list[str] = []
        if features is None:
            self.window = window
            views, masks = self._raw_views(window, stream_key, require_synced)
        else:
            params = preset(features) if isinstance(features, str) else features
            self.window = params.window
            for p in self.paths:
                with open_recording(p) as rec:
                    rec.check_synced(require_synced)
            res = ensure_features(self.paths, params, root=feature_root, workers=workers)
            self._sidecars = [r.sidecar for r in res]
            views, masks = self._feature_views()
        self._keys = [v.stream_key for v in views]
        self._n = [v.n_samples for v in views]
        self.classes = class_names(m for v in views for m in v.labels)
        code = {c: i for i, c in enumerate(self.classes)}
        self._rec = np.concatenate([np.full(len(v.frames), i, np.int32)
                                    for i, v in enumerate(views)] or [np.zeros(0, np.int32)])
        cat = lambda f, dt: np.concatenate([f(v) for v in views] or [np.zeros(0, dt)])  # noqa: E731
        self._frame = cat(lambda v: v.frames, np.int64)
        self._start = cat(lambda v: v.starts, np.int64)
        self._time = cat(lambda v: v.times, np.float64)
        self._label = cat(lambda v: np.array([code[m] for m in v.labels], np.int16), np.int16)
        self.participants = np.array([ents[r][0] for r in self._rec], dtype=object)
        self.sessions = np.array([ents[r][1] for r in self._rec], dtype=object)
        self.masks = {k: np.concatenate([m[k] for m in masks] or [np.zeros(0, bool)])
                      for k in ("tap_block", "tap", "annotation")}
        self._local = np.concatenate([np.arange(len(v.frames)) for v in views]
                                     or [np.zeros(0, np.int64)])

    def _raw_views(self, window: WindowSpec, stream_key: str | None, require_synced: bool
                   ) -> tuple[list[FrameWindows], list[dict[str, np.ndarray]]]:
        views, masks = [], []
        for p in self.paths:
            with open_recording(p) as rec:
                v = frame_windows(rec, window, stream_key, require_synced=require_synced)
                scale = rec.stream(v.stream_key).scale
                self._scales.append(None if np.all(scale == 1.0) else scale.astype(np.float32))
                masks.append(context_masks(rec.events, v.times))
            views.append(v)
        return views, masks

    def _feature_views(self) -> tuple[list[FrameWindows], list[dict[str, np.ndarray]]]:
        views, masks = [], []
        for r in range(len(self.paths)):
            f = self._store(r)
            self.feature_channels = f.channels
            views.append(FrameWindows("features", f.window, f.item_frame, f.item_start,
                                      f.item_time, f.item_label.astype(object)))
            masks.append(f.masks)
        return views, masks

    def _check_process(self) -> None:
        if os.getpid() != self._pid:  # forked: the parent's handles are not ours to use
            self._open, self._readers, self._stores = OrderedDict(), {}, {}
            self._pid = os.getpid()

    def _store(self, r: int) -> RecordingFeatures:
        self._check_process()
        f = self._stores.get(r)
        if f is None:
            f = self._stores[r] = load_features(self._sidecars[r])
        return f

    def __len__(self) -> int:
        return len(self._rec)

    @property
    def labels(self) -> np.ndarray:
        """Class index of every item (for samplers that balance classes)."""
        return self._label

    @property
    def recordings(self) -> np.ndarray:
        """Index into :attr:`paths` of every item."""
        return self._rec

    @property
    def times(self) -> np.ndarray:
        """Time of every item (s, common timeline)."""
        return self._time

    # -- per-process file handles ---------------------------------------------------
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_open"] = OrderedDict()  # handles never travel to another process
        state["_readers"] = {}
        state["_stores"] = {}  # memory maps are reopened, not copied
        return state

    def _recording(self, r: int) -> Recording:
        self._check_process()
        rec = self._open.get(r)
        if rec is None:
            rec = open_recording(self.paths[r], cache_bytes=self.cache_bytes)
            self._open[r] = rec
            if not self._sidecars:
                self._readers[r] = rec.window_reader(self._keys[r], self._n[r])
            while len(self._open) > self.max_open:
                old, old_rec = self._open.popitem(last=False)
                self._readers.pop(old, None)
                old_rec.close()
        else:
            self._open.move_to_end(r)
        return rec

    def close(self) -> None:
        self._readers.clear()
        while self._open:
            self._open.popitem()[1].close()

    # -- items ----------------------------------------------------------------------
    def emg_window(self, i: int) -> np.ndarray:
        """Only the EMG window of item ``i`` (the fast path: no frame decoding)."""
        r = int(self._rec[i])
        if self._sidecars:
            s = int(self._start[i])
            return np.array(self._store(r).emg[s: s + self._n[r]])
        self._recording(r)
        try:
            x = self._readers[r].read(int(self._start[i]))
        except OSError as e:
            raise RecordingError(f"file: {self.paths[r]} is damaged ({str(e).splitlines()[0]}); "
                                 f"{recovery_hint(self.paths[r])}") from None
        scale = self._scales[r]
        return x if scale is None else x * scale

    def batch(self, indices) -> dict:
        """Items ``indices`` stacked in one dict (arrays with a leading batch axis,
        ``movement`` a list), copied straight into the batch arrays.

        ``ds[list_of_indices]`` is the same, so a torch DataLoader takes whole batches
        with ``batch_size=None, sampler=BatchSampler(RandomSampler(...), 256, False)``
        (no per-item collate). ``transform`` is applied to the batch dict.
        """
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if idx.size == 0 or not (-len(self) <= idx.min() and idx.max() < len(self)):
            raise IndexError(f"indices: give 1 or more, each in range for {len(self)} items")
        idx %= len(self)
        rec, labels = self._rec[idx], self._label[idx]
        out = {"label": labels.astype(np.int64), "movement": [self.classes[k] for k in labels],
               "time": self._time[idx], "recording": rec.astype(np.int64),
               "frame_index": self._frame[idx]}
        first = self.emg_window(int(idx[0]))
        emg = out["emg"] = np.empty((len(idx), *first.shape), first.dtype)
        crops = self._sidecars and self.with_frames and all(
            self._store(int(r)).crops is not None for r in np.unique(rec))
        if crops:
            c0 = self._store(int(rec[0])).crops
            out["frame"] = np.empty((len(idx), *c0.shape[1:]), c0.dtype)
        pics = []
        for j, i in enumerate(idx):
            r = int(rec[j])
            if self._sidecars:
                f, st = self._store(r), int(self._start[i])
                emg[j] = f.emg[st: st + self._n[r]]
                if crops:
                    out["frame"][j] = f.crops[int(self._local[i])]
            else:
                emg[j] = self.emg_window(int(i))
            if not crops and (self.with_frames or self.with_depth):
                pics.append(self._pictures({}, r, int(self._frame[i])))
        for key in pics[0] if pics else ():
            out[key] = np.stack([p[key] for p in pics])
        return self.transform(out) if self.transform else out

    def __getitem__(self, i: int) -> dict:
        if isinstance(i, (list, tuple, np.ndarray)):
            return self.batch(i)
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} frames")
        i = int(i) % len(self)
        r, fi = int(self._rec[i]), int(self._frame[i])
        label = int(self._label[i])
        item = {"emg": self.emg_window(i), "label": label, "movement": self.classes[label],
                "time": float(self._time[i]), "recording": r, "frame_index": fi}
        if self._sidecars and self.with_frames and self._store(r).crops is not None:
            item["frame"] = np.array(self._store(r).crops[int(self._local[i])])
        elif self.with_frames or self.with_depth:
            self._pictures(item, r, fi)
        return self.transform(item) if self.transform else item

    def _pictures(self, item: dict, r: int, fi: int) -> dict:
        rec = self._recording(r)
        try:
            if self.with_frames:
                item["frame"] = rec.color(fi)
            if self.with_depth and rec.has_depth:
                item["depth"] = rec.depth(fi)
        except (OSError, ValueError, RuntimeError) as e:  # HDF5 filter / JPEG decoder errors
            raise RecordingError(f"file: {self.paths[r]} frame {fi} is damaged "
                                 f"({str(e).splitlines()[0]}); {recovery_hint(self.paths[r])}"
                                 ) from None
        return item
