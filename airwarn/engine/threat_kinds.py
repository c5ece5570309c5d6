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
    speed_max_mps: float  # the fastest it cruises (corridor kinds; a dash may go faster)
    turn_rate_dps: float  # the sharpest turn (corridor kinds); 0 = may go any way
    pre_alert_s: int  # how far ahead a zone is pre-alerted; 0 = no pre-alert for this kind
    timeout_s: int  # a track with no report for this long is over ("lost")
    lead_s: int  # seconds added to a zone's shelter_s before its alert is due
    # Ballistic coefficient m/(Cd*A) in kg/m^2 (ballistic kinds): the sensors do not measure
    # it, so the impact region spans the draggiest (low) to the sleekest (high) plausible body.
    beta_low_kg_m2: float = 0.0
    beta_high_kg_m2: float = 0.0
    # Ballistic kinds: the acceleration, 1 sigma, that gravity and drag leave unexplained (the
    # filter grows it while the reports show a force it leaves out: `tracks.BallisticTrack`)
    accel_sigma_mps2: float = 3.0
    # Ballistic kinds: a held zone is let go once the impact region grown by this share of its
    # semi-axes misses it (`policy.SmartPolicy`): the hysteresis against an estimate's jitter
    release_margin: float = 0.25
    min_radius_m: float = 500.0  # the smallest region: effects of a hit reach this far
    velocity_sigma_mps: float = 30.0  # assumed 1-sigma error of a reported velocity
    default_sigma_m: float = 300.0  # assumed 1-sigma position error when a report gives none
    # Corridor kinds, around the measured speed: the slowest it flies (its tightest turn has a
    # radius of speed_min / turn rate at least), how fast it may speed up, and up to what share
    # more than the speed seen (a dash; never more than that share above speed_max_mps).
    speed_min_mps: float = 0.0
    accel_mps2: float = 0.0
    dash_factor: float = 1.0
    # How far from the last fix the zones stay held when the threat ends by impact or
    # interception: the blast, the debris and the fall of an intercepted body's parts.
    debris_radius_m: float = 5000.0

    @property
    def beta_kg_m2(self) -> float:
        """The nominal ballistic coefficient: the geometric mean of the plausible range."""
        return (self.beta_low_kg_m2 * self.beta_high_kg_m2) ** 0.5


PROFILES: dict[str, KindProfile] = {
    "rocket": KindProfile(
        model="ballistic",
        speed_max_mps=1500,
        turn_rate_dps=0,
        pre_alert_s=0,
        timeout_s=30,
        lead_s=5,
        beta_low_kg_m2=4000,
        beta_high_kg_m2=20000,
        min_radius_m=400,
        velocity_sigma_mps=10,
        default_sigma_m=100,
    ),
    "ballistic": KindProfile(
        model="ballistic",
        speed_max_mps=7000,
        turn_rate_dps=0,
        pre_alert_s=900,
        timeout_s=60,
        lead_s=10,
        beta_low_kg_m2=5000,
        beta_high_kg_m2=60000,
        # above the air gravity is the whole story (regions half as wide as with a rocket's
        # 3 m/s2 and as often right, on the sweep; docs/engine.md, "What the reports say")
        accel_sigma_mps2=0.3,
        # its regions are narrower than a rocket's for it, and move further, in their own
        # semi-axes, as it meets the air near the end: 0.25 let zones go that its last
        # estimates took again (1 to 2 flaps per 100 alerted zones on two rows of the sweep,
        # none at 0.35; BENCHMARKS.md, "Reading the reports")
        release_margin=0.35,
        min_radius_m=800,
        velocity_sigma_mps=30,
        default_sigma_m=300,
    ),
    # Turn rates are the hardest coordinated turns of the airframes (g tan(bank) / speed): a
    # Kh-101/Kalibr-class missile at 60 degrees of bank and 220 m/s turns 4.4 deg/s, a
    # Shahed-136-class drone at 45 degrees and 45 m/s 12.5 deg/s; a dash takes a missile to
    # 1.15 times its cruise speed at 2 m/s2, a drone (in a shallow dive) to 1.2 times at
    # 0.5 m/s2 (the limits `airwarn.sim.maneuvers` flies them to).
    "cruise": KindProfile(
        model="corridor",
        speed_max_mps=280,
        turn_rate_dps=4.5,
        pre_alert_s=600,
        timeout_s=120,
        lead_s=15,
        min_radius_m=500,
        velocity_sigma_mps=15,
        default_sigma_m=300,
        speed_min_mps=150,
        accel_mps2=2.0,
        dash_factor=1.15,
        debris_radius_m=5000,
    ),
    "drone": KindProfile(
        model="corridor",
        speed_max_mps=60,
        turn_rate_dps=12.5,
        pre_alert_s=900,
        timeout_s=180,
        lead_s=15,
        min_radius_m=500,
        velocity_sigma_mps=5,
        default_sigma_m=500,
        speed_min_mps=25,
        accel_mps2=0.5,
        dash_factor=1.2,
        debris_radius_m=3000,
    ),
    "aircraft": KindProfile(
        model="corridor",
        speed_max_mps=350,
        turn_rate_dps=0,
        pre_alert_s=600,
        timeout_s=120,
        lead_s=15,
        min_radius_m=1000,
        velocity_sigma_mps=20,
        default_sigma_m=500,
    ),
    "unknown": KindProfile(
        model="corridor",
        speed_max_mps=300,
        turn_rate_dps=0,
        pre_alert_s=600,
        timeout_s=120,
        lead_s=15,
        min_radius_m=1000,
        velocity_sigma_mps=30,
        default_sigma_m=500,
    ),
}
