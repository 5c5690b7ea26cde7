"""A small simulated study with private participant data, written faster than real time."""

from __future__ import annotations

from pathlib import Path

from mimicsync.acquisition.simulators.recordings import write_simulated_recording
from mimicsync.dataset.layout import RecordingId
from mimicsync.dataset.study_tree import upsert_tsv

OPERATOR = "Dr Olga Operatorsdottir"
# participant, name, birth date, consent data, consent video, sex, handedness, notes
PEOPLE = [
    ("jena0042", "Anna Müller", "1990-04-02", "yes", "yes", "F", "R", "nervous, asked twice"),
    ("jena0043", "Bernd Schmidt", "1985-11-30", "yes", "no", "M", "L", "glasses off"),
    ("jena0044", "Clara Weiss", "1999-01-15", "no", "no", "F", "R", "declined publication"),
    ("jena0045", "Dieter Braun", "1970-06-06", "", "", "M", "R", "consent form missing"),
]


def make_study(root: Path, duration_s: float = 4.0) -> Path:
    """Four participants (two publishable, one video); participant 0 has two sessions."""
    for i, (p, *_rest) in enumerate(PEOPLE):
        write_simulated_recording(root, RecordingId(p, "01", "functional", 1, "S"),
                                  duration_s=duration_s, seed=i, depth=False, operator=OPERATOR,
                                  width=160, height=120)
    write_simulated_recording(root, RecordingId(PEOPLE[0][0], "02", "emotions", 1, "S"),
                              duration_s=duration_s, seed=9, depth=False, operator=OPERATOR,
                              width=160, height=120, movements=("happiness", "anger"))
    for p, name, birth, cd, cv, sex, hand, notes in PEOPLE:
        upsert_tsv(root / "participants.tsv", "participant_id", {
            "participant_id": f"sub-{p}", "name": name, "birth_date": birth,
            "consent_data_public": cd, "consent_video_public": cv, "sex": sex,
            "handedness": hand, "notes": notes})
    return root


# -- DataLoader-style workers (module-level: spawned processes import them) -----------
_WORKER_DATASET = None


def worker_init(ds) -> None:
    """What a DataLoader worker gets: its own copy of the dataset."""
    global _WORKER_DATASET
    _WORKER_DATASET = ds


def worker_read(i: int) -> tuple[int, float, int, int]:
    import os
    item = _WORKER_DATASET[i]
    return i, float(item["emg"].sum()), int(item["frame"].sum()), os.getpid()


def worker_main(ds, indices: list[int], out) -> None:
    """A worker process that reads its share of the items (like one DataLoader worker)."""
    worker_init(ds)
    out.put([worker_read(i) for i in indices])
