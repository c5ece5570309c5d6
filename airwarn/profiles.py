"""What airwarn assumes about each kind of threat when the sensors do not say.

These are deliberately conservative envelopes (a drone may fly faster than the one seen, a
missile's drag is not known exactly): a zone missed costs lives, a zone over-alerted costs
attention. Every number here is a default that an agency can override.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Model = Literal["ballistic", "corridor"]


@dataclass(frozen=True)
class KindProfile:
    """The flight envelope and alerting horizons of one kind of threat."""

    model: Model
    speed_max_mps: float  # the fastest it may fly (corridor kinds)
    turn_rate_dps: float  # the sharpest sustained turn (corridor kinds); 0 = may go any way
    pre_alert_s: int  # how far ahead a zone is pre-alerted; 0 = no pre-alert for this kind
    timeout_s: int  # a track with no report for this long is over ("lost")
    lead_s: int  # seconds added to a zone's shelter_s before its alert is due
    # Ballistic coefficient m/(Cd*A) in kg/m^2 (ballistic kinds): the sensors do not measure
    # it, so the impact region spans the draggiest (low) to the sleekest (high) plausible body.
    beta_low_kg_m2: float = 0.0
    beta_high_kg_m2: float = 0.0
    min_radius_m: float = 500.0  # the smallest region: effects of a hit reach this far
    velocity_sigma_mps: float = 30.0  # assumed 1-sigma error of a reported velocity
    default_sigma_m: float = 300.0  # assumed 1-sigma position error when a report gives none

    @property
    def beta_kg_m2(self) -> float:
        """The nominal ballistic coefficient: the geometric mean of the plausible range."""
        return (self.beta_low_kg_m2 * self.beta_high_kg_m2) ** 0.5


PROFILES: dict[str, KindProfile] = {
    "rocket": KindProfile(
        model="ballistic", speed_max_mps=1500, turn_rate_dps=0, pre_alert_s=0, timeout_s=30,
        lead_s=5, beta_low_kg_m2=4000, beta_high_kg_m2=20000, min_radius_m=400,
        velocity_sigma_mps=10, default_sigma_m=100,
    ),
    "ballistic": KindProfile(
        model="ballistic", speed_max_mps=7000, turn_rate_dps=0, pre_alert_s=900, timeout_s=60,
        lead_s=10, beta_low_kg_m2=5000, beta_high_kg_m2=60000, min_radius_m=800,
        velocity_sigma_mps=30, default_sigma_m=300,
    ),
    "cruise": KindProfile(
        model="corridor", speed_max_mps=280, turn_rate_dps=3, pre_alert_s=600, timeout_s=120,
        lead_s=15, min_radius_m=500, velocity_sigma_mps=15, default_sigma_m=300,
    ),
    "drone": KindProfile(
        model="corridor", speed_max_mps=60, turn_rate_dps=4, pre_alert_s=900, timeout_s=180,
        lead_s=15, min_radius_m=500, velocity_sigma_mps=5, default_sigma_m=500,
    ),
    "aircraft": KindProfile(
        model="corridor", speed_max_mps=350, turn_rate_dps=0, pre_alert_s=600, timeout_s=120,
        lead_s=15, min_radius_m=1000, velocity_sigma_mps=20, default_sigma_m=500,
    ),
    "unknown": KindProfile(
        model="corridor", speed_max_mps=300, turn_rate_dps=0, pre_alert_s=600, timeout_s=120,
        lead_s=15, min_radius_m=1000, velocity_sigma_mps=30, default_sigma_m=500,
    ),
}
