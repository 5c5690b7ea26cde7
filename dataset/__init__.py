"""mimicsync.dataset: recordings on disk, and the ways to read and publish them.

The public reading API, importable from here (loaded on first use, so importing a small
submodule such as ``layout`` stays cheap)::

    from mimicsync.dataset import Recording, Study, FrameDataset, WindowSpec
    study = Study("/data/study")
    refs = study.recordings(participant="07", task="functional", acq="S")
    with refs[0].open() as rec:
        t = rec.timeline(rec.emg_stream().key)   # sample times, common timeline
        raw = rec.to_mne_raw()
    ds = FrameDataset(refs, WindowSpec(0.5, "start"))   # a torch DataLoader takes it
    ds = FrameDataset(refs, features="bioface")         # from derivatives/mimicsync-features

``Study`` also opens a BIDS export of a study (``BidsRecording``) with the same views.
"""

from __future__ import annotations

from mimicsync.lazy import lazy_getattr

_API = {
    "Recording": "recording", "RecordingError": "recording", "UnsyncedWarning": "recording",
    "Study": "study", "RecordingRef": "study", "open_recordings": "study",
    "open_recording": "study", "BidsRecording": "bids_recording",
    "FeatureParams": "features", "ensure_features": "feature_store",
    "load_features": "feature_store",
    "timeline": "timeline",
    "FrameDataset": "training",
    "WindowSpec": "frame_views", "frame_windows": "frame_views", "frame_features": "frame_views",
    "FrameFeatures": "frame_views", "group_split": "splits",
    "process_emg": "processing", "ChainParams": "processing",
    "movement_intervals": "labels",
    "to_mne_raw": "mne_raw",
}

__all__ = sorted(_API)


__getattr__ = lazy_getattr(__name__, _API)
