"""Republish any BrainFlow board as an LSL stream, so the recorder treats it like any sEMG source.

One :class:`BrainFlowStreamer` owns one BrainFlow session (board id + connection params) and a
polling thread that moves everything the board produced into an LSL outlet:

* ExG rows (``channel_kinds``) in microvolts, BrainFlow's unit for ExG, plus optional extras
  (package counter, marker, accel, ...) whose units BrainFlow does not define.
* float32 samples: BrainFlow's float64 carries no extra information at ExG resolution.
* Timestamps: BrainFlow stamps every sample in UNIX time (on the device, or on the host when a
  packet arrives). They are passed through unchanged except for a shift onto the LSL clock,
  ``lsl = unix + (local_clock() - time.time())``, with the offset measured at every poll.
  Re-measuring follows NTP slewing of the wall clock; the tight measurement (best of three
  bracketed reads) adds only microseconds of jitter. We deliberately do *not* dejitter
  against the nominal rate here: the device clock differs from nominal by up to ~100 ppm
  (0.36 s per hour) and packet losses would be smeared over, whereas the raw stamps let the
  recorder's post-hoc linear fit (as XDF loaders do) recover both.

Only BrainFlow's default preset is streamed (all ExG lives there); auxiliary-preset data
such as the Muse IMU is not.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings

import numpy as np
import pylsl

# brainflow finds its native library through pkg_resources, which setuptools >= 80 marks
# deprecated with a UserWarning on every load: noise on the user's terminal, not theirs to fix.
warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)

from brainflow.board_shim import (  # noqa: E402
    BoardIds,
    BoardShim,
    BrainFlowError,
    BrainFlowInputParams,
    IpProtocolTypes,
)
from brainflow.board_shim import BrainFlowExitCodes as ExitCode  # noqa: E402

from mimicsync.acquisition.lsl_meta import add_channels  # noqa: E402
from mimicsync.errors import ErrorCode, MimicsyncError  # noqa: E402
from mimicsync.format import ChannelSpec  # noqa: E402

log = logging.getLogger(__name__)

EXG_KINDS = ("emg", "eeg", "exg", "ecg", "eog")
# Extra row kinds -> XDF channel type. Units stay empty: BrainFlow only defines them for ExG.
EXTRA_KINDS = {
    "package_num": "MISC", "marker": "TRIG", "accel": "ACCEL", "gyro": "GYRO",
    "magnetometer": "MAG", "analog": "MISC", "other": "MISC", "battery": "MISC",
    "temperature": "MISC", "eda": "EDA", "ppg": "PPG", "resistance": "MISC",
}
DEFAULT_EXTRA = ("package_num", "marker")  # board-independent: loss detection and events

# Free-form field some boards use for keys/tokens: its value never goes into a recording.
SECRET_PARAMS = frozenset({"other_info"})
_ENUM_PARAMS = {"master_board": BoardIds, "ip_protocol": IpProtocolTypes}
_PARAM_DEFAULTS = vars(BrainFlowInputParams())
_ID_PARAMS = ("serial_number", "mac_address", "serial_port", "ip_address", "file")

_PORT_FIX = ("check that serial_port={serial_port!r} is the board's dongle "
             "(ls /dev/ttyUSB* /dev/ttyACM*), that you may open it (dialout group) "
             "and that no other program holds it")
_POWER_FIX = ("switch the board on, check battery, dongle switch and radio range, then retry "
              "(slow boards may need timeout=10)")
_FIXES = {
    ExitCode.UNABLE_TO_OPEN_PORT_ERROR: _PORT_FIX,
    ExitCode.SER_PORT_ERROR: _PORT_FIX,
    ExitCode.PORT_ALREADY_OPEN_ERROR: "another program or session holds this port; close it first",
    ExitCode.ANOTHER_BOARD_IS_CREATED_ERROR: "a session with these params is already open in "
                                             "this process; stop it first",
    ExitCode.BOARD_NOT_READY_ERROR: _POWER_FIX,
    ExitCode.INITIAL_MSG_ERROR: _POWER_FIX,
    ExitCode.SYNC_TIMEOUT_ERROR: _POWER_FIX,
    ExitCode.BOARD_WRITE_ERROR: _POWER_FIX,
    ExitCode.INCOMMING_MSG_ERROR: _POWER_FIX,
    ExitCode.INVALID_ARGUMENTS_ERROR: "this board needs other connection params (serial_port=, "
                                      "mac_address=, ip_address=, serial_number=, ...); see "
                                      "BrainFlow's supported-boards page",
    ExitCode.UNSUPPORTED_BOARD_ERROR: "BrainFlow {version} has no board with this id; pick one "
                                      "from brainflow.BoardIds",
}
_DEFAULT_FIX = "check that the board is on and connected and that the connection params are right"


class DeviceError(MimicsyncError, RuntimeError):
    """A board failed to start or stream; the one-line message names the board and the fix."""

    default_code = ErrorCode.DEVICE


def parse_board_params(items: list[str]) -> dict[str, str | int]:
    """CLI ``key=value`` items as BrainFlow connection params, ints where BrainFlow wants them."""
    params: dict[str, str | int] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"board param {item!r}: write key=value, "
                             "e.g. serial_port=/dev/ttyUSB0")
        params[key.strip()] = value.strip()
    return {k: v for k, v in vars(make_input_params(params)).items() if k in params}


def make_input_params(params: dict | BrainFlowInputParams | None) -> BrainFlowInputParams:
    """Validated :class:`BrainFlowInputParams`; unknown keys or bad integers raise ValueError."""
    if isinstance(params, BrainFlowInputParams):
        return params
    out = BrainFlowInputParams()
    for key, value in (params or {}).items():
        if key not in _PARAM_DEFAULTS:
            raise ValueError(f"unknown BrainFlow param {key!r}; use one of: "
                             f"{', '.join(sorted(_PARAM_DEFAULTS))}")
        as_int = isinstance(_PARAM_DEFAULTS[key], int)
        setattr(out, key, _to_int(key, value) if as_int else str(value))
    return out


def _to_int(key: str, value: object) -> int:
    enum = _ENUM_PARAMS.get(key)
    if isinstance(value, str) and enum is not None and value.upper() in enum.__members__:
        return int(enum[value.upper()])
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        names = f" or a name from {enum.__name__}" if enum else ""
        raise ValueError(f"BrainFlow param {key}={value!r}: expected an integer{names}") from None


def public_params(params: BrainFlowInputParams) -> dict[str, str]:
    """The non-default connection params worth recording; secret values are replaced."""
    return {k: ("(set, not recorded)" if k in SECRET_PARAMS else str(v))
            for k, v in vars(params).items() if v != _PARAM_DEFAULTS[k]}


def unix_to_lsl_offset() -> float:
    """``local_clock() - time.time()``, from the tightest of three bracketed reads."""
    best = (float("inf"), 0.0)
    for _ in range(3):
        t0 = pylsl.local_clock()
        unix = time.time()
        t1 = pylsl.local_clock()
        best = min(best, (t1 - t0, (t0 + t1) / 2 - unix))
    return best[1]


def board_name(board_id: int) -> str:
    """BrainFlow's name for a board, or a readable placeholder for ids it does not know."""
    try:
        return BoardShim.get_device_name(board_id)
    except BrainFlowError:
        return "unknown board"


def _rows(board_id: int, kind: str) -> list[int]:
    """Data rows of one kind; [] where the board has none (BrainFlow raises for that)."""
    getter = (getattr(BoardShim, f"get_{kind}_channels", None)
              or getattr(BoardShim, f"get_{kind}_channel"))
    try:
        rows = getter(board_id)
    except BrainFlowError as e:
        if e.exit_code == ExitCode.UNSUPPORTED_BOARD_ERROR:
            return []
        raise
    return [rows] if isinstance(rows, int) else list(rows)


class _Session(BoardShim):
    """A BoardShim that only ever releases a session it prepared itself.

    BrainFlow keys sessions by (board id, params) and the stock ``__del__`` releases whatever
    session has that key, so a failed duplicate start would close its owner's session.
    """

    owned = False

    def __del__(self) -> None:
        if self.owned:
            try:
                super().__del__()
            except Exception:  # noqa: BLE001 - at interpreter exit ctypes may already be gone
                pass


class BrainFlowStreamer:
    """One BrainFlow board as an LSL outlet, fed from a polling thread.

    ``error`` holds the latest problem (read failure, no data for ``stall_timeout`` s) so the
    recorder can show it; the thread keeps polling. ``streamer_params`` is passed to
    BrainFlow's ``start_stream`` (e.g. ``"file://raw.csv:w"`` for a raw backup written by
    BrainFlow itself). ``board_logging`` switches BrainFlow's console logger on; note that
    BrainFlow's logger setting is process-wide.
    """

    def __init__(self, board_id: int, params: dict | BrainFlowInputParams | None = None,
                 name: str | None = None, source_id: str | None = None,
                 poll_interval: float = 0.02,
                 channel_kinds: tuple[str, ...] = ("emg", "eeg", "exg"),
                 include_extra: tuple[str, ...] = DEFAULT_EXTRA,
                 streamer_params: str = "", board_logging: bool = False,
                 stall_timeout: float = 2.0) -> None:
        for kind in (*channel_kinds, *include_extra):
            if kind not in EXG_KINDS and kind not in EXTRA_KINDS:
                raise ValueError(f"unknown channel kind {kind!r}; use {EXG_KINDS} "
                                 f"or {tuple(EXTRA_KINDS)}")
        self.board_id = int(board_id)
        self.params = make_input_params(params)
        self.board_name = board_name(self.board_id)
        self.label = f"BrainFlow {self.board_name} (id {self.board_id})"  # for messages
        # Streaming/playback boards carry another board's data: describe that board's rows.
        relays = (BoardIds.STREAMING_BOARD, BoardIds.PLAYBACK_FILE_BOARD)
        self.layout_id = self.params.master_board if self.board_id in relays else self.board_id
        if self.layout_id == BoardIds.NO_BOARD:
            raise DeviceError(f"{self.label} relays another board's data: "
                              "give master_board=<that board's id or name>")
        self.poll_interval = poll_interval
        self.streamer_params = streamer_params
        self.stall_timeout = stall_timeout
        if board_logging:
            BoardShim.enable_board_logger()
        else:
            BoardShim.disable_board_logger()
        try:
            self.srate = float(BoardShim.get_sampling_rate(self.layout_id))
            self._ts_row = BoardShim.get_timestamp_channel(self.layout_id)
            self._rows, self.channels = self._layout(channel_kinds, include_extra)
        except BrainFlowError as e:
            raise self._device_error(e, "read the board description") from None
        self.stream_type = self.channels[0].type
        ident = next((str(v) for k in _ID_PARAMS if (v := getattr(self.params, k))), "")
        self.name = name or f"BrainFlow {self.board_name}"
        self.source_id = source_id or f"brainflow:{self.board_id}:{ident}"
        self.outlet: pylsl.StreamOutlet | None = None
        self.samples = 0
        self.error: str | None = None
        self._board: _Session | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _layout(self, channel_kinds: tuple[str, ...], include_extra: tuple[str, ...]
                ) -> tuple[list[int], list[ChannelSpec]]:
        """Rows to publish and their specs: ExG first (by row), then extras in the given order."""
        kind_of: dict[int, str] = {}
        for kind in channel_kinds:  # earlier kinds win: ("emg", "eeg") types shared rows EMG
            for row in _rows(self.layout_id, kind):
                kind_of.setdefault(row, kind)
        if not kind_of:
            raise DeviceError(f"{self.label} has no {'/'.join(channel_kinds)} channels in "
                              "its default preset; choose other channel_kinds")
        try:
            names = dict(zip(_rows(self.layout_id, "eeg"), BoardShim.get_eeg_names(self.layout_id)))
        except BrainFlowError:
            names = {}
        rows = sorted(kind_of)
        specs = [ChannelSpec(names.get(row, f"exg{i}"), unit="microvolts",
                             type=kind_of[row].upper()) for i, row in enumerate(rows, 1)]
        for kind in include_extra:
            extra = [r for r in _rows(self.layout_id, kind) if r not in rows]
            for i, row in enumerate(extra, 1):
                label = kind if len(extra) == 1 else f"{kind}{i}"
                specs.append(ChannelSpec(label, unit="", type=EXTRA_KINDS[kind]))
                rows.append(row)
        return rows, specs

    def _device_error(self, e: BrainFlowError, action: str) -> DeviceError:
        try:
            code = ExitCode(e.exit_code)
        except ValueError:
            code = None
        fix = _FIXES.get(code, _DEFAULT_FIX).format(version=BoardShim.get_version(),
                                                   **vars(self.params))
        what = code.name if code else f"exit code {e.exit_code}"
        return DeviceError(f"{self.label} could not {action} ({what}): {fix}")

    def _stream_info(self) -> pylsl.StreamInfo:
        info = pylsl.StreamInfo(self.name, self.stream_type, len(self.channels), self.srate,
                                pylsl.cf_float32, self.source_id)
        add_channels(info, self.channels)
        acq = info.desc().append_child("acquisition")
        for key, value in (("manufacturer", "BrainFlow"), ("model", self.board_name),
                           ("board_id", self.board_id), ("board_name", self.board_name),
                           ("layout_board_id", self.layout_id),
                           ("brainflow_version", BoardShim.get_version()),
                           ("preset", "default"),
                           ("timestamps", "BrainFlow UNIX time + (local_clock - time.time) "
                                          "measured per chunk; not dejittered")):
            acq.append_child_value(key, str(value))
        conn = acq.append_child("params")
        for key, value in public_params(self.params).items():
            conn.append_child_value(key, value)
        return info

    def start(self) -> None:
        """Open the session, start streaming and publish; raise :class:`DeviceError` with a fix."""
        if self._board is not None:
            return
        board, error = None, None
        try:
            action = "open the board"
            board = _Session(self.board_id, self.params)
            action = "prepare the session"
            board.prepare_session()
            board.owned = True
            action = "start streaming"
            board.start_stream(450_000, self.streamer_params or None)
        except BrainFlowError as e:
            if board is not None and board.owned:
                board.release_session()
            error = self._device_error(e, action)
        if error is not None:
            del board  # the traceback must not keep a BoardShim alive until interpreter exit
            raise error
        self._board = board
        self.outlet = pylsl.StreamOutlet(self._stream_info())
        self.error = None
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"brainflow:{self.name}",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread, publish what is left and release the session. Safe to call twice."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        board, self._board = self._board, None
        if board is None:
            return
        try:
            board.stop_stream()
            self._pump(board)
        except BrainFlowError as e:
            log.warning("%s: stopping failed: %s", self.label, e)
        finally:
            board.release_session()
            board.owned = False
            self.outlet = None

    def insert_marker(self, value: float) -> None:
        """Put ``value`` into the marker row of the next sample (BrainFlow's in-band events)."""
        if self._board is None:
            raise RuntimeError("insert_marker: the streamer is not started")
        self._board.insert_marker(value)

    def __enter__(self) -> BrainFlowStreamer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        last_data = pylsl.local_clock()
        board = self._board
        while not self._stop.wait(self.poll_interval):
            try:
                n = self._pump(board)
            except BrainFlowError as e:  # a read failure must not kill the thread
                self._report(f"{self.label}: reading data failed: {e}")
                continue
            now = pylsl.local_clock()
            if n:
                last_data, self.error = now, None
            elif now - last_data > self.stall_timeout:
                self._report(f"{self.label} delivered no data for {self.stall_timeout:g} s; "
                             f"{_POWER_FIX}")

    def _report(self, message: str) -> None:
        """Set ``error``, logging it once rather than at every poll."""
        if message != self.error:
            log.warning(message)
        self.error = message

    def _pump(self, board: _Session) -> int:
        """Move all buffered samples from BrainFlow to LSL; returns how many."""
        data = board.get_board_data()
        n = data.shape[1]
        if n and self.outlet is not None:
            samples = np.ascontiguousarray(data[self._rows].T, dtype=np.float32)
            stamps = data[self._ts_row] + unix_to_lsl_offset()
            self.outlet.push_chunk(samples, stamps.tolist())
            self.samples += n
        return n
