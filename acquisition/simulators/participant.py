"""Let the simulated participant do what the protocol cues: runner hooks -> Scenario.

Both simulators (sEMG and camera) read the same :class:`Scenario`, so a cued smile or
tap appears in both streams at the same true time, a reaction time after the cue (taps:
after the hand's approach, which the camera shows).
A movement is added when its cue is shown, with its planned end; the scenario is
append-only, so a movement cut short by pause/skip/abort is still finished by the
simulated participant (as a real one often does).
"""

from __future__ import annotations

from mimicsync.acquisition.simulators.face_renderer import TAP_APPROACH_S
from mimicsync.acquisition.simulators.scenario import Movement, Scenario, Tap


class ScenarioParticipant:
    """Adds a :class:`Movement` per perform cue and a :class:`Tap` per tap cue.

    A protocol runner listener (the runner calls only the hooks a listener has), kept
    free of protocol imports so the simulators sit below the protocol layer."""

    def __init__(self, scenario: Scenario, reaction_s: float = 0.3, intensity: float = 1.0,
                 tap_delay_s: float = TAP_APPROACH_S + 0.1) -> None:
        """``tap_delay_s``: the hand starts moving at the cue and touches the face this long
        after it; at least the renderer's approach time, or the hand would pop into view."""
        self.scenario = scenario
        self.reaction_s = reaction_s
        self.intensity = intensity
        self.tap_delay_s = max(tap_delay_s, TAP_APPROACH_S)

    def on_perform(self, start: float, end: float, movement_id: str) -> None:
        r = self.reaction_s
        self.scenario.add_movement(Movement(start + r, end + r, movement_id, self.intensity))

    def on_tap(self, time: float, index: int) -> None:
        # Alternating cheeks, like acquisition.scenario.tap_block.
        self.scenario.add_tap(Tap(time + self.tap_delay_s, x_mm=45.0 if index % 2 == 0 else -45.0))
