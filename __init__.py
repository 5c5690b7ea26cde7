"""mimicsync: synchronized facial video + facial sEMG recording.

Subpackages: ``acquisition`` (device adapters, simulators, recorder), ``dataset``
(session file format, BIDS-like tree, readers), ``sync`` (offline alignment),
``protocols`` (movement protocols), ``gui`` (operator app), ``cli``.
"""

import os as _os

__version__ = "0.1.0"

# liblsl logs INFO lines to stderr on every load; keep the console for our own messages
# unless the user points LSLAPICFG at a configuration of their own.
_os.environ.setdefault("LSLAPICFG", _os.path.join(_os.path.dirname(__file__), "lsl_api.cfg"))
# Depth frames are Blosc-compressed inside the writer thread; two Blosc threads cut that
# time by ~40% (bench/record_throughput.py). c-blosc reads this at each compression call.
_os.environ.setdefault("BLOSC_NTHREADS", str(min(4, _os.cpu_count() or 1)))
