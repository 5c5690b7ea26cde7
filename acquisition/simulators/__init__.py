"""mimicsync.acquisition.simulators: every simulated device and simulated recording.

They are how mimicsync is tested without hardware, so they model what real devices do:

- :mod:`.emg`: the sEMG amplifier (64 ch at 4096 Hz) on an LSL outlet, with clock distortion;
- :mod:`.camera`, :mod:`.face_renderer`: the RealSense-like camera (colour, depth, LED,
  a face that performs the movements, a hand that taps);
- :mod:`.scenario`: what the simulated participant does and when (shared by both devices);
- :mod:`.participant`: makes the scenario follow a protocol runner's cues;
- :mod:`.devices`: starts the amplifier, camera and trigger box together;
- :mod:`.recordings`, :mod:`.sync_recordings`: whole recordings written offline (tests,
  benches), the latter with sync ground truth; :mod:`.signals`: synthetic signals.
"""
