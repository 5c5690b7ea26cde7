"""mimicsync: synchronized facial video + facial sEMG recording.

Subpackages: ``acquisition`` (device adapters, simulators, recorder), ``dataset``
(session file format, BIDS-like tree, readers), ``sync`` (offline alignment),
``protocols`` (movement protocols), ``gui`` (operator app), ``cli``.
"""

__version__ = "0.1.0"
