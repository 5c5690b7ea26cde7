"""The layout a newcomer can draw: reading needs no device library, packages import one way."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import subprocess
import sys

from mimicsync.acquisition.simulators.recordings import write_simulated_recording
from mimicsync.dataset.layout import RecordingId

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEVICE_OR_GUI = ("pylsl", "pyrealsense2", "brainflow", "PySide6", "pyqtgraph")


def _graph():
    spec = importlib.util.spec_from_file_location("import_graph", ROOT / "docs" / "import_graph.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_reading_a_recording_loads_no_device_or_qt_library(tmp_path):
    path = write_simulated_recording(tmp_path, RecordingId("01", "01", "functional", 1),
                                     duration_s=2.0, seed=1, depth=True, width=160, height=120)
    code = f"""
import json, sys
from mimicsync.dataset import Recording, Study, FrameDataset, WindowSpec
with Recording({str(path)!r}) as rec:
    key = rec.emg_stream().key
    t = rec.timeline(key)
    x = rec.stream(key).physical(0, 10)
    n = rec.n_frames
print(json.dumps([m for m in sys.modules if m.split('.')[0] in {list(DEVICE_OR_GUI)!r}]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_packages_import_in_one_direction_only():
    g = _graph()
    rank = {p: i for i, p in enumerate(g.ORDER)}
    wrong = [f"{src} imports {dst} ({', '.join(sorted(mods))})"
             for src, targets in g.package_graph(ROOT).items()
             for dst, mods in targets.items()
             if rank.get(dst, -1) >= rank.get(src, len(rank)) and {src, dst} != {"cli", "gui"}
             or (src, dst) == ("gui", "cli")]
    assert wrong == []
