"""mimicsync.acquisition.live: Qt-free monitoring of streams while a lab records.

The operator app draws what these compute; nothing here imports Qt, so each piece is
tested on its own: :mod:`.monitor` (inlets into ring buffers and envelopes),
:mod:`.signal_quality` (per-channel rest RMS, mains ratio, flat, saturated),
:mod:`.stream_watch` (what is on the network), :mod:`.sync_status` (live taps and the
running offset through :mod:`mimicsync.sync.live`).
"""
