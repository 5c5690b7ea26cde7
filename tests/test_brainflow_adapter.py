"""BrainFlow adapter against BrainFlow's synthetic board, received through a real LSL inlet.

Every streamer gets a unique ``serial_number`` (ignored by the synthetic board) so its
BrainFlow session and LSL source id never collide with tests running at the same time.
"""

from __future__ import annotations

import uuid

import numpy as np
import pylsl
import pytest
from brainflow.board_shim import BoardIds, BoardShim
from brainflow.data_filter import DataFilter

from mimicsync.acquisition.brainflow_adapter import (
    BrainFlowStreamer,
    DeviceError,
    make_input_params,
    parse_board_params,
    unix_to_lsl_offset,
)
from mimicsync.format import channels_from_xml, desc_value

SYNTH = BoardIds.SYNTHETIC_BOARD
RATE = 250.0  # the synthetic board's sampling rate
N_EXG = 16


def synthetic(**kwargs) -> BrainFlowStreamer:
    params = {"serial_number": uuid.uuid4().hex, **kwargs.pop("params", {})}
    return BrainFlowStreamer(SYNTH, params, name=f"test-bf-{uuid.uuid4().hex[:8]}", **kwargs)


def open_inlet(streamer: BrainFlowStreamer) -> pylsl.StreamInlet:
    infos = pylsl.resolve_byprop("source_id", streamer.source_id, minimum=1, timeout=5.0)
    assert infos, f"stream {streamer.source_id} not found on loopback"
    inlet = pylsl.StreamInlet(infos[0], max_buflen=30, recover=False)
    inlet.open_stream(timeout=5.0)
    return inlet


def pull_for(inlet: pylsl.StreamInlet, seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """All samples arriving within ``seconds``: (n, channels) values and (n,) timestamps."""
    chunks, stamps = [], []
    end = pylsl.local_clock() + seconds
    while pylsl.local_clock() < end:
        data, ts = inlet.pull_chunk(timeout=0.1)
        if ts:
            chunks.append(np.asarray(data))
            stamps.extend(ts)
    return np.concatenate(chunks), np.asarray(stamps)


def test_parse_board_params_converts_types_and_names_bad_keys():
    parsed = parse_board_params(["serial_port=/dev/ttyUSB0", "timeout=5", "ip_protocol=udp",
                                 "master_board=SYNTHETIC_BOARD"])
    assert parsed == {"serial_port": "/dev/ttyUSB0", "timeout": 5, "ip_protocol": 1,
                      "master_board": int(SYNTH)}
    with pytest.raises(ValueError, match=r"unknown BrainFlow param 'serial'.*serial_port") as e:
        parse_board_params(["serial=/dev/ttyUSB0"])
    assert "\n" not in str(e.value)
    with pytest.raises(ValueError, match="expected an integer"):
        parse_board_params(["timeout=soon"])
    with pytest.raises(ValueError, match="key=value"):
        parse_board_params(["serial_port"])


def test_unknown_channel_kind_is_rejected():
    with pytest.raises(ValueError, match="unknown channel kind 'emgg'"):
        synthetic(channel_kinds=("emgg",))


def test_metadata_round_trips_through_lsl():
    streamer = synthetic(params={"other_info": "token=hunter2"},
                         include_extra=("package_num", "marker", "accel"))
    with streamer:
        info = open_inlet(streamer).info(timeout=5.0)
    xml = info.as_xml()
    assert info.nominal_srate() == RATE
    assert info.channel_format() == pylsl.cf_float32
    assert info.type() == "EMG"
    specs = channels_from_xml(xml, info.channel_count())
    assert info.channel_count() == N_EXG + 2 + 3
    assert [s.label for s in specs[:N_EXG]] == BoardShim.get_eeg_names(SYNTH)
    assert {(s.unit, s.type) for s in specs[:N_EXG]} == {("microvolts", "EMG")}
    assert [(s.label, s.type) for s in specs[N_EXG:]] == [
        ("package_num", "MISC"), ("marker", "TRIG"),
        ("accel1", "ACCEL"), ("accel2", "ACCEL"), ("accel3", "ACCEL")]
    assert [s.label for s in specs] == [s.label for s in streamer.channels]
    assert desc_value(xml, "acquisition/manufacturer") == "BrainFlow"
    assert desc_value(xml, "acquisition/board_id") == str(int(SYNTH))
    assert desc_value(xml, "acquisition/board_name") == "Synthetic"
    assert desc_value(xml, "acquisition/brainflow_version") == BoardShim.get_version()
    assert desc_value(xml, "acquisition/params/serial_number") == streamer.params.serial_number
    assert "hunter2" not in xml


def test_values_and_timestamps_match_what_the_board_produced(tmp_path):
    """BrainFlow's own file streamer keeps an independent copy of every sample to compare with."""
    raw = tmp_path / "raw.csv"
    streamer = synthetic(streamer_params=f"file://{raw}:w")
    with streamer:
        inlet = open_inlet(streamer)
        first, first_ts = pull_for(inlet, 1.0)
        streamer.insert_marker(7.0)
        rest, rest_ts = pull_for(inlet, 1.0)
        pulled_at = pylsl.local_clock()
        offset = unix_to_lsl_offset()
    data, ts = np.concatenate([first, rest]), np.concatenate([first_ts, rest_ts])
    board = np.loadtxt(raw, delimiter="\t")  # (samples, rows), written by BrainFlow itself
    expected = board[:, streamer._rows]

    # The inlet joined late: locate its first sample, then every later one must follow in order.
    start = np.flatnonzero(np.all(np.isclose(expected, data[0], rtol=1e-6, atol=1e-5), axis=1))
    assert len(start) == 1, "first received sample not found exactly once in the board's data"
    block = slice(start[0], start[0] + len(data))
    assert len(board[block]) == len(data), "received more samples than the board produced"
    np.testing.assert_allclose(data, expected[block], rtol=1e-6, atol=1e-5)
    assert np.count_nonzero(data[:, -1] == 7.0) == 1  # the marker lands on exactly one sample

    exg = data[:, :N_EXG]
    assert 0 < np.abs(exg).max() < 5_000 and exg.std(axis=0).min() > 0.1  # plausible, live µV

    np.testing.assert_allclose(ts, board[block, BoardShim.get_timestamp_channel(SYNTH)] + offset,
                               atol=1e-3)
    assert np.all(np.diff(ts) > 0)
    assert np.median(np.diff(ts)) == pytest.approx(1 / RATE, rel=0.1)
    assert (len(ts) - 1) / (ts[-1] - ts[0]) == pytest.approx(RATE, rel=0.03)
    assert 0 < pulled_at - ts[-1] < 0.5  # on the LSL clock, not UNIX time


def test_playback_board_uses_the_master_boards_layout(tmp_path):
    """A playback file made here has known values, so each received sample is checked exactly."""
    n, rows = 300, BoardShim.get_num_rows(SYNTH)
    recorded = np.zeros((rows, n))
    recorded[BoardShim.get_package_num_channel(SYNTH)] = np.arange(n) % 256
    recorded[1:N_EXG + 1] = np.arange(n) * 0.25 + 1000.0 * np.arange(N_EXG)[:, None]
    recorded[BoardShim.get_timestamp_channel(SYNTH)] = 1.7e9 + np.arange(n) / RATE
    path = tmp_path / "recorded.csv"
    DataFilter.write_file(recorded, str(path), "w")

    with pytest.raises(DeviceError, match="master_board="):
        BrainFlowStreamer(BoardIds.PLAYBACK_FILE_BOARD, {"file": str(path)})
    params = parse_board_params([f"file={path}", "master_board=SYNTHETIC_BOARD"])
    streamer = BrainFlowStreamer(BoardIds.PLAYBACK_FILE_BOARD, params,
                                 name=f"test-bf-{uuid.uuid4().hex[:8]}")
    assert streamer.srate == RATE and [c.label for c in streamer.channels[:3]] == ["Fz", "C3", "Cz"]
    with streamer:
        data, _ = pull_for(open_inlet(streamer), 2.0)
    first = int(data[0, 0] / 0.25)  # the inlet may join after playback began
    expected = recorded[streamer._rows, first:first + len(data)].T
    assert len(data) > n // 2
    np.testing.assert_array_equal(data, expected.astype(np.float32))


def test_stop_releases_the_session_and_start_works_again():
    streamer = synthetic()
    streamer.start()
    with pytest.raises(DeviceError, match="already open in this process"):
        BrainFlowStreamer(SYNTH, streamer.params).start()
    streamer.stop()
    assert streamer.outlet is None

    probe = BoardShim(SYNTH, make_input_params(vars(streamer.params)))
    probe.prepare_session()  # raises if the streamer still held the session
    probe.release_session()

    with streamer:
        data, _ = pull_for(open_inlet(streamer), 0.5)
    assert len(data) > 0.2 * RATE
    streamer.stop()  # a second stop is harmless


@pytest.mark.parametrize("board_id, params, expected", [
    (BoardIds.CYTON_BOARD, {"serial_port": "/dev/mimicsync-no-such-port"},
     ["Cyton (id 0)", "UNABLE_TO_OPEN_PORT_ERROR", "serial_port='/dev/mimicsync-no-such-port'"]),
    (BoardIds.CYTON_BOARD, {}, ["Cyton (id 0)", "INVALID_ARGUMENTS_ERROR", "serial_port="]),
    (9999, {}, ["(id 9999)", "UNSUPPORTED_BOARD_ERROR", "BoardIds"]),
])
def test_board_errors_become_one_line_device_errors(board_id, params, expected):
    with pytest.raises(DeviceError) as e:
        streamer = BrainFlowStreamer(board_id, params)
        streamer.start()
    message = str(e.value)
    assert "\n" not in message
    for part in expected:
        assert part in message
