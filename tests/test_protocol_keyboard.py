"""Operator keys in a real terminal (a pty): p pauses and resumes, r repeats, a aborts."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time
from pathlib import Path

from mimicsync.dataset.recording import Recording
from mimicsync.protocols.schema import load_protocol

MIMICSYNC = [sys.executable, "-m", "mimicsync.cli.main"]


def test_keys_in_a_terminal_control_the_run_and_are_recorded(tmp_path: Path) -> None:
    (tmp_path / "protocols").mkdir()
    text = load_protocol("functional").source.read_text(encoding="utf-8")
    text = (text.replace('name = "functional"', 'name = "keys"')
            .replace("timings = { instruction = 3.0, countdown = 2.0, hold = 3.0, relax = 1.5 }",
                     "timings = { instruction = 0.3, countdown = 0.2, hold = 0.6, relax = 0.2 }")
            .replace("timings = { hold = 8.0 }", "timings = { hold = 0.6 }")
            .replace("interval = 1.5", "interval = 0.1").replace("instruction = 3.0", "instruction = 0.1")
            .replace("after = 2.0", "after = 0.1"))
    (tmp_path / "protocols" / "keys.toml").write_text(text, encoding="utf-8")
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(MIMICSYNC + ["record", "--root", str(tmp_path), "--participant", "01", "--session",
                                         "01", "--task", "keys", "--protocol", "keys", "--simulate"],
                            stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    os.close(terminal)
    seen: list[str] = []

    def until(needle: str, timeout: float = 20.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            line = proc.stdout.readline()
            seen.append(line)
            if needle in line:
                return
        raise AssertionError(f"{needle!r} not shown; got {''.join(seen)}")

    try:
        until("GO  NEUTRAL")
        os.write(controller, b"p")
        until("** PAUSE (perform)")
        time.sleep(0.2)
        os.write(controller, b"p")
        until("** RESUME (rest)")
        until("GO  NEUTRAL")  # the interrupted trial again, as a new attempt
        until("relax")
        os.write(controller, b"r")
        until("** REPEAT (rest)")
        until("GO  NEUTRAL")
        os.write(controller, b"a")
        until("run aborted")
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(controller)
    assert proc.returncode == 0, err
    assert "keys: p pause/resume" in err and "protocol aborted by the operator" in err
    with Recording(next(tmp_path.glob("sub-01/ses-01/*_recording.h5"))) as rec:
        kinds = [e.trial_type for e in rec.events if e.trial_type in ("pause", "resume", "repeat", "abort")]
        assert kinds == ["pause", "resume", "repeat", "abort"]
        attempts = [e.extra["attempt"] for e in rec.events if e.trial_type == "perform"]
        assert attempts[:3] == [1, 2, 3]  # paused, resumed, repeated: trial 0 three times
        assert rec.attrs["stop_reason"] == "protocol aborted by the operator"
