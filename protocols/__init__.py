"""mimicsync.protocols: standardized movement protocols and their runner.

Protocols are TOML files (shipped here; a study adds or overrides them in
``<study_root>/protocols/``). ``load_protocol`` validates one, ``plan_trials`` expands it
with a seed into the ordered trials, ``ProtocolRunner`` cues them on a clock, pushes a
JSON marker per cue to LSL and hands :class:`~mimicsync.dataset.events.Event` records to
listeners (recorder, GUI, :class:`ConsolePresenter`, the simulated participant).
See ``protocols/README.md``.
"""

from mimicsync.protocols.console import ConsolePresenter
from mimicsync.protocols.listeners import EventLog, RunListener
from mimicsync.protocols.markers import (
    MARKER_FORMAT,
    LatencyStats,
    LslMarkerOutlet,
    MarkerReceiver,
    decode_marker,
    encode_marker,
)
from mimicsync.protocols.model import Protocol, Step, TapBlock, Text, Timings
from mimicsync.protocols.plan import Plan, Trial, new_seed, plan_trials
from mimicsync.protocols.resume import ResumePoint, resume_point_from_events
from mimicsync.protocols.runner import ProtocolRunner, RunReport
from mimicsync.protocols.schema import (
    ProtocolError,
    available_protocols,
    dump_protocol,
    dumps_protocol,
    load_protocol,
    loads_protocol,
)

__all__ = [
    "ConsolePresenter", "EventLog", "RunListener", "MARKER_FORMAT", "LatencyStats", "LslMarkerOutlet",
    "MarkerReceiver", "decode_marker", "encode_marker", "Protocol", "Step", "TapBlock", "Text", "Timings",
    "Plan", "Trial", "new_seed", "plan_trials", "ResumePoint", "resume_point_from_events", "ProtocolRunner",
    "RunReport", "ProtocolError", "available_protocols", "dump_protocol", "dumps_protocol", "load_protocol",
    "loads_protocol",
]
