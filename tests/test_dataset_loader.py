"""FrameDataset under DataLoader-style worker processes (fork and spawn), without torch:
each worker gets the dataset (pickled for spawn, inherited for fork) and reads items."""

from __future__ import annotations

import multiprocessing as mp
import pickle

import numpy as np
import pytest
from dataset_helpers import worker_main  # importable by spawned workers

from mimicsync.acquisition.simulators.recordings import write_simulated_recording
from mimicsync.dataset import FrameDataset, Study, WindowSpec
from mimicsync.dataset.layout import RecordingId


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("loader")
    for p in ("01", "02", "03"):
        write_simulated_recording(root, RecordingId(p, "01", "functional", 1), duration_s=3.0,
                                  width=160, height=120, depth=False, seed=int(p))
    return FrameDataset(Study(root).recordings(), WindowSpec(0.25, "center"), max_open=2)


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_workers_read_the_same_items_as_the_parent(dataset, method):
    idx = list(np.random.default_rng(1).permutation(len(dataset))[:60])
    expected = {i: (float(dataset[i]["emg"].sum()), int(dataset[i]["frame"].sum())) for i in idx}
    assert dataset._open  # the parent has files open: workers must not reuse those handles
    ctx = mp.get_context(method)
    out = ctx.Queue()
    workers = [ctx.Process(target=worker_main, args=(dataset, idx[k::3], out)) for k in range(3)]
    for w in workers:
        w.start()
    got = [row for _ in workers for row in out.get(timeout=120)]
    for w in workers:
        w.join(timeout=30)
        assert w.exitcode == 0
    assert {i: (e, f) for i, e, f, _ in got} == expected
    assert len({pid for *_, pid in got}) == 3  # three processes, each with its own handles
    dataset.close()


def test_pickles_without_file_handles(dataset):
    dataset[0]
    blob = pickle.dumps(dataset)
    assert len(blob) < 200_000
    clone = pickle.loads(blob)
    assert clone._open == {} and np.array_equal(clone[5]["emg"], dataset[5]["emg"])
    assert set(dataset[0]) >= {"emg", "label", "movement", "time", "recording", "frame_index",
                               "frame"}
