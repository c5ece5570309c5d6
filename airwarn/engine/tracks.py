"""Estimation per threat: Kalman filters over noisy, duplicated and out-of-order reports.

Two estimators, by the physics that governs the threat:
- `BallisticTrack`: position and velocity in Earth-fixed (ECEF) coordinates, predicted between
  reports under gravity (WGS84 with J2), the Earth's rotation and drag, so that the filter and
  the impact prediction share one physical model.
- `CorridorTrack`: position and velocity on the local map in metres (nearly constant velocity
  with manoeuvre noise), for drones, cruise missiles, aircraft and unknown tracks.

Reports are kept in time order for a bounded window; a report that arrives out of order is
slotted in and the filter re-run from the start of the window; a report for a time already seen
is a duplicate and ignored.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from airwarn.engine import physics
from airwarn.engine.projection import LocalProjection
from airwarn.engine.threat_kinds import KindProfile


@dataclass(frozen=True)
class Report:
    t_ms: int
    lat: float
    lon: float
    alt_m: float
    sigma_m: float
    vel_enu: tuple[float, float, float] | None


class _ReportWindow:
    """Time-ordered reports of one track, at most `size` of them."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.reports: list[Report] = []
        self.times: list[int] = []

    def insert(self, report: Report) -> str:
        """'append', 'insert' (out of order) or 'duplicate'."""
        i = bisect.bisect_left(self.times, report.t_ms)
        if i < len(self.times) and self.times[i] == report.t_ms:
            return "duplicate"
        self.times.insert(i, report.t_ms)
        self.reports.insert(i, report)
        appended = i == len(self.times) - 1
        if len(self.reports) > self.size:
            del self.reports[0]
            del self.times[0]
        return "append" if appended else "insert"


class _Track:
    """What both estimators share: the report window and re-filtering on a late report."""

    window: _ReportWindow
    count: int
    refiltering = False  # True while the window is filtered again from its start
    revision = 0  # reports taken (late ones too): a track with the same revision is unchanged

    def _update(self, report: Report) -> None:
        raise NotImplementedError

    def add(self, report: Report) -> str:
        """Take a report: 'append', 'insert' (late, the window is filtered again) or
        'duplicate' (ignored)."""
        outcome = self.window.insert(report)
        if outcome != "duplicate":
            self.revision += 1
        if outcome == "append" and self.count:
            self._update(report)
        elif outcome != "duplicate":
            self.refiltering = True
            try:
                self.count = 0
                for r in self.window.reports:
                    self._update(r)
            finally:
                self.refiltering = False
            self._refiltered()
        return outcome

    def _refiltered(self) -> None:
        """Called once the window has been filtered again from its start."""

    @property
    def velocity_known(self) -> bool:
        """Two reports, or one that carries a velocity."""
        return self.count >= 2 or (self.count >= 1 and self.window.reports[-1].vel_enu is not None)


class BallisticTrack(_Track):
    """ECEF position/velocity filter for rockets and ballistic missiles, with drag as a state.

    The state is [r (3), v (3), kappa] with kappa = 1/beta, the inverse ballistic coefficient
    (m2/kg): sensors never report it, but it shows in how the body slows in the air, and the
    filter learns it from that (an extended Kalman filter, as re-entry trackers do). Above the
    air it stays at its prior, which spans the draggiest to the sleekest plausible body.

    What gravity and drag leave unexplained is the kind's `accel_sigma_mps2`: small for a
    ballistic missile, which flies most of its way above the air, where gravity is the whole
    story; larger for a rocket, which flies all of its way in the air. Two things the model
    cannot know are read off the reports themselves, from how far each one falls from where
    the filter expected it (its innovation, whitened by what the filter expected of it):
    - `fit`: the innovations' mean square, per component, over the last few reports (about 1
      when the model holds). Where it stays above 1 while the innovations do not persist from
      one report to the next, the sensor's errors are larger than it says, and the
      `covariance` every region is drawn from is scaled by it: a sensor that understates its
      error threefold gets regions three times as wide, not a filter sure of a wrong answer.
    - `persist`: how much of it carries over from one report to the next. Errors of a sensor
      do not, or little (`r_scale`); a force the model leaves out (a motor still burning, a
      manoeuvre) does, report after report. While the innovations persist and exceed what
      the filter expects, its process noise grows (`q_scale`, up to 100 times the sigma) so
      that it follows, and it falls back once they stop.
    - `r_scale`: when a sensor's errors do carry over a little from one report to the next
      (a radar's track smoothing, its clutter), a filter that takes reports a second apart as
      independent is surer than they allow, and its regions wander past their edge. While the
      model holds, the innovations' report-to-report correlation rho is learnt over about the
      last twenty reports, and each report's stated position variance is taken
      (1 + rho) / (1 - rho) times over, the variance of a mean of such errors against that of
      independent ones (`fit` and `persist` still take the report at its word).
    """

    WINDOW = 64
    # No sensor places a missile to better than a metre, and in ECEF metres (some 6.4e6 from
    # the Earth's centre) a micrometre's variance leaves the filter's matrices singular.
    SIGMA_FLOOR_M = 1.0
    KAPPA_WALK = 0.02  # relative random walk of kappa per second (ablation, tumbling)
    MEMORY = 0.85  # weight of the running `fit` and `persist` against each new report's
    SAY_MAX = 100.0  # the most one report adds to them (10 sigma: one bad plot is one report)
    FIT_MAX = 400.0  # the widest the fit scales the covariance (20 times the sigmas)
    # The process noise grows while the innovations' report-to-report correlation
    # (persist / fit) is above PERSIST_ON and the fit above FIT_ON; else it falls back by
    # Q_DECAY a report. Over about seven reports, white innovations give a correlation of
    # 0 +- 0.3: 0.6 is twice that.
    PERSIST_ON = 0.6
    FIT_ON = 1.5
    Q_MAX = 10_000.0  # variance: 100 times the kind's sigma
    Q_DECAY = 0.7
    # The sensor's error correlation from one report to the next, learnt over about the last
    # twenty reports while the model holds (fit at most FIT_ON), at most CORR_MAX.
    CORR_MEMORY = 0.95
    CORR_MAX = 0.8

    def __init__(self, profile: KindProfile) -> None:
        self.profile = profile
        self.window = _ReportWindow(self.WINDOW)
        self.x = np.zeros(7)
        self.P = np.zeros((7, 7))
        self.t_ms = 0
        self.count = 0
        k_low, k_high = 1.0 / profile.beta_high_kg_m2, 1.0 / profile.beta_low_kg_m2
        self.kappa_bounds = (k_low, k_high)
        self.kappa_prior = ((k_low + k_high) / 2.0, ((k_high - k_low) / 4.0) ** 2)
        self._reset_fit()

    def _reset_fit(self) -> None:
        self.fit = 1.0
        self.persist = 0.0
        self._corr_num = 0.0  # the sensor's error correlation's running sums (see `r_scale`)
        self._corr_den = 1.0
        self.r_scale = 1.0
        self.q_scale = 1.0
        self._last_white: np.ndarray | None = None

    @property
    def scale(self) -> float:
        """What the sensor's errors beyond its word ask of the covariance: the fit less the
        part of it that persists (a force left out, which `q_scale` follows), at least 1."""
        return min(max(self.fit - max(self.persist, 0.0), 1.0), self.FIT_MAX)

    @property
    def covariance(self) -> np.ndarray:
        """The state's covariance as the reports bear it out: what regions are drawn from."""
        return self.P * self.scale

    def kappa_range(self, k_sigma: float) -> tuple[float, float]:
        """The plausible inverse ballistic coefficients now: estimate +- k_sigma, bounded."""
        k, var = float(self.x[6]), max(float(self.P[6, 6]) * self.scale, 0.0)
        low, high = self.kappa_bounds
        spread = k_sigma * math.sqrt(var)
        return max(low, k - spread), min(high, k + spread)

    def _measurement(self, r: Report) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        east, north, up = physics.enu_axes(r.lat, r.lon)
        axes = np.array([east, north, up]).T  # columns: E, N, U in ECEF
        z_pos = np.array(physics.geodetic_to_ecef(r.lat, r.lon, r.alt_m))
        var = max(r.sigma_m, self.SIGMA_FLOOR_M) ** 2 * self.r_scale
        R_pos = axes @ np.diag([var, var, 2.25 * var]) @ axes.T
        if r.vel_enu is None:
            return z_pos, R_pos, _H_POS
        z_vel = axes @ np.array(r.vel_enu)
        R = np.zeros((6, 6))
        R[:3, :3] = R_pos
        R[3:, 3:] = np.eye(3) * self.profile.velocity_sigma_mps**2
        return np.concatenate([z_pos, z_vel]), R, _H_POS_VEL

    def _update(self, r: Report) -> None:
        if self.count == 0:
            self._reset_fit()  # before the report is measured: its R takes `r_scale`
        z, R, H = self._measurement(r)
        if self.count == 0:
            kappa, kappa_var = self.kappa_prior
            self.x = np.zeros(7)
            self.P = np.zeros((7, 7))
            self.P[3:6, 3:6] = np.eye(3) * self.profile.speed_max_mps**2
            self.x[:3] = z[:3]
            self.P[:3, :3] = R[:3, :3]
            if len(z) == 6:
                self.x[3:6] = z[3:]
                self.P[3:6, 3:6] = R[3:, 3:]
            self.x[6], self.P[6, 6] = kappa, kappa_var
            self.t_ms = r.t_ms
            self.count = 1
            return
        self._predict_to(r.t_ms)
        S = H @ self.P @ H.T + R
        try:
            K = self.P @ H.T @ np.linalg.inv(S)
        except np.linalg.LinAlgError:  # a state blown far out of scale: the report is not taken
            return
        innovation = z - H @ self.x
        if self.count >= 2:  # from the third report on: the second's rests on the prior's velocity
            # The model is tested against the report at its word: what `r_scale` adds to it
            # would hide a force that pushes every report the same way as it grows.
            stated = S
            if self.r_scale != 1.0:
                stated = S.copy()
                stated[:3, :3] -= R[:3, :3] * (1.0 - 1.0 / self.r_scale)
            try:
                lower = np.linalg.cholesky((stated + stated.T) / 2.0)
            except np.linalg.LinAlgError:  # numbers far out of scale: nothing to learn from
                pass
            else:
                self._learn_fit(np.linalg.solve(lower, innovation))
        self.x = self.x + K @ innovation
        I_KH = _I7 - K @ H
        self.P = I_KH @ self.P @ I_KH.T + K @ R @ K.T  # Joseph form: stays symmetric
        low, high = self.kappa_bounds
        self.x[6] = min(max(self.x[6], low), high)
        self.count += 1

    def _learn_fit(self, white: np.ndarray) -> None:
        """Take one whitened innovation into `fit`, `persist`, `r_scale` and `q_scale`."""
        a, cap = self.MEMORY, self.SAY_MAX
        self.fit = a * self.fit + (1.0 - a) * min(float(white @ white) / len(white), cap)
        last = self._last_white
        self._last_white = white
        if last is None:
            return
        # A report with a velocity and one without are compared on their positions: the
        # whitening is triangular, so a position's part does not depend on the velocity's.
        m = min(len(white), len(last))
        carry = min(max(float(white[:m] @ last[:m]) / m, -cap), cap)
        c = self.CORR_MEMORY
        if self.fit <= self.FIT_ON:
            self._corr_num = c * self._corr_num + (1.0 - c) * carry
            self._corr_den = c * self._corr_den + (1.0 - c) * min(
                float(white[:m] @ white[:m]) / m, cap
            )
        else:  # a force the model leaves out, not the sensor: what was learnt fades
            self._corr_num *= c
        rho = min(max(self._corr_num / self._corr_den, 0.0), self.CORR_MAX)
        self.r_scale = (1.0 + rho) / (1.0 - rho)
        self.persist = a * self.persist + (1.0 - a) * carry
        if self.persist > self.PERSIST_ON * self.fit and self.fit > self.FIT_ON:
            self.q_scale = min(self.q_scale * (1.0 + self.persist), self.Q_MAX)
        else:
            self.q_scale = max(self.q_scale * self.Q_DECAY, 1.0)

    def _predict_to(self, t_ms: int) -> None:
        """Move the state to `t_ms` with the physical model, in steps of at most a second."""
        total = (t_ms - self.t_ms) / 1000.0
        steps = max(1, math.ceil(total))
        dt = total / steps
        if dt <= 0:
            return
        q = self.profile.accel_sigma_mps2**2 * self.q_scale
        Q = np.zeros((7, 7))
        Q[:3, :3] = np.eye(3) * q * dt**3 / 3
        Q[:3, 3:6] = Q[3:6, :3] = np.eye(3) * q * dt**2 / 2
        Q[3:6, 3:6] = np.eye(3) * q * dt
        for _ in range(steps):
            r = (float(self.x[0]), float(self.x[1]), float(self.x[2]))
            v = (float(self.x[3]), float(self.x[4]), float(self.x[5]))
            kappa = float(self.x[6])
            a = np.array(physics.acceleration(r, v, 1.0 / kappa))
            # d(acceleration)/d(kappa): the drag per unit kappa, -rho |v| v / 2
            _, _, h = physics.ecef_to_geodetic(*r)
            drag_per_kappa = (
                -0.5 * physics.air_density(h) * np.linalg.norm(self.x[3:6]) * self.x[3:6]
            )
            self.x[:3] += self.x[3:6] * dt + 0.5 * a * dt * dt
            self.x[3:6] += a * dt
            F = np.eye(7)
            F[:3, 3:6] = np.eye(3) * dt
            F[:3, 6] = 0.5 * drag_per_kappa * dt * dt
            F[3:6, 6] = drag_per_kappa * dt
            Q[6, 6] = (self.KAPPA_WALK * kappa) ** 2 * dt
            self.P = F @ self.P @ F.T + Q
        self.t_ms = t_ms


_H_POS = np.hstack([np.eye(3), np.zeros((3, 4))])
_H_POS_VEL = np.hstack([np.eye(6), np.zeros((6, 1))])
_I7 = np.eye(7)


_VAR_FLOOR = 1e-6  # m2, (m/s)2: a report may state a sigma of a micrometre

# One report's innovations on a corridor track's two axes: (east, its expected variance,
# north, its expected variance), as `_Axis.step` returns them.
Innovations = tuple[float, float, float, float]


class _SensorTest:
    """A sensor's word on its error tested on a corridor track's innovations, as
    `BallisticTrack` tests it: `fit`, the whitened innovations' mean square per axis over the
    last few reports (about 1 while the model and the sensor's word hold); `persist`, the part
    that carries over from one report to the next (a manoeuvre, or errors a sensor's smoothing
    carries over, not the sensor's noise); `scale`, what the errors beyond its word ask of the
    variances. `say_max`: the most one report adds (one bad plot is one report)."""

    __slots__ = ("fit", "persist", "scale", "say_max", "_last")

    MEMORY = BallisticTrack.MEMORY  # weight of the running `fit` and `persist`

    def __init__(self, say_max: float) -> None:
        self.fit = 1.0
        self.persist = 0.0
        # the fit less the part of it that persists, at least 1 (at most `say_max`: the fit is
        # a mean of what each report says)
        self.scale = 1.0
        self.say_max = say_max
        self._last: tuple[float, float] | None = None

    def take(self, innovations: Innovations) -> None:
        a, cap = self.MEMORY, self.say_max
        e, e_var, n, n_var = innovations
        we, wn = e / math.sqrt(max(e_var, _VAR_FLOOR)), n / math.sqrt(max(n_var, _VAR_FLOOR))
        self.fit = a * self.fit + (1.0 - a) * min((we * we + wn * wn) / 2.0, cap)
        last = self._last
        self._last = we, wn
        if last is not None:
            carry = min(max((we * last[0] + wn * last[1]) / 2.0, -cap), cap)
            self.persist = a * self.persist + (1.0 - a) * carry
        self.scale = max(self.fit - max(self.persist, 0.0), 1.0)

    def forget_last(self) -> None:
        """The next innovation does not follow the last one taken (some were dropped)."""
        self._last = None


class _Axis:
    """A 2-state (position, velocity) Kalman filter along one map axis, in plain floats.

    With measurement errors independent between east and north (a circular `sigma_m`) and
    manoeuvre noise independent per axis, the 4-state filter splits exactly into two of these.
    """

    __slots__ = ("p", "v", "pp", "pv", "vv")

    def __init__(self, p: float, p_var: float, v: float, v_var: float) -> None:
        self.p, self.v = p, v
        self.pp, self.pv, self.vv = p_var, 0.0, v_var

    def step(self, dt: float, q: float, z: float, r: float) -> tuple[float, float]:
        """Predict over dt (nearly constant velocity, white acceleration of variance q; none
        when dt <= 0), then take a position z of variance r: one call, as a corridor track runs
        four of these per report. Returns the innovation (z less the prediction) and the
        variance the filter expected of it."""
        p, v, pp, pv, vv = self.p, self.v, self.pp, self.pv, self.vv
        if dt > 0:
            p += v * dt
            pp += dt * (2 * pv + dt * vv) + q * dt**3 / 3
            pv += dt * vv + q * dt**2 / 2
            vv += q * dt
        s = pp + r
        k_p, k_v = pp / s, pv / s
        innovation = z - p
        self.p = p + k_p * innovation
        self.v = v + k_v * innovation
        self.pp, self.pv, self.vv = (1 - k_p) * pp, (1 - k_p) * pv, vv - k_v * pv
        return innovation, s

    def measure_velocity(self, z: float, r: float) -> None:
        s = self.vv + r
        k_p, k_v = self.pv / s, self.vv / s
        innovation = z - self.v
        self.p += k_p * innovation
        self.v += k_v * innovation
        self.pp, self.pv, self.vv = (
            self.pp - k_p * self.pv,
            (1 - k_v) * self.pv,
            (1 - k_v) * self.vv,
        )


class CorridorTrack(_Track):
    """Local-map position/velocity filters for threats that fly where they choose.

    Two filters take every report: a quiet one (nearly constant velocity, 1 m/s2 of
    manoeuvre noise), sharp on a straight leg, and an agile one whose noise is the kind's
    hardest turn at its top speed (a cruise missile 22 m/s2, a drone 13 m/s2). In a hard turn
    or a circle the quiet one lags: its velocity cuts the corner and its position falls inside
    the curve, by far more than it states (a cruise missile circling at 2 deg/s, seen every
    5 s with 300 m of noise: 75 degrees and 3.5 km behind, against a stated 3 sigma of 440 m).
    Once the two are farther apart than a straight leg leaves them (`TURNING_ON`), the track
    reads the agile one (`turning`), with its wider sigmas, until they agree again.

    The quiet filter's speed drops in a turn too, while the threat's does not, and the agile
    one's is too loose to bound it. The track remembers the fastest speed the quiet filter
    gave over the last `SPEED_MEMORY_S` of flight out of turns
    (`speed_recent_mps`; a speed seen in a turn is not taken, the memory's clock stops while
    it lasts, and a late report that sets the window filtered again keeps it): what bounds the
    threat's reach is the speed it was last seen to fly, not the corner the filter cut. Three
    minutes covers the turns the agile filter does not flag (`bench/corridor_speed.py`); a
    threat that really slows down is given its old speed that long.

    A sensor may err beyond the sigma it states (`understated-3` in the sweep: a third of its
    error). Then both filters are surer than the reports allow, the two fall apart on a
    straight leg as a turn would set them (a drone seen every 5 s with 100 m stated is read as
    turning on 40 % of its reports when the sensor errs threefold, on nearly all when
    tenfold), and the corridor swings with the noise. So the track tests
    the sensor's word as `BallisticTrack` does (`_SensorTest`): for every sigma it gives
    (`scale`), on the quiet filter's innovations on a straight leg, sharp as it is, and on the
    agile one's in a turn or at a turn's start (where the quiet one's are the turn's;
    `_straight`); for the test for a turn (`turn_scale`), on the agile one's only as well, so
    that a manoeuvre read as the sensor's noise does not hide the turn after it.
    """

    WINDOW = 32
    ACCEL_SIGMA = 1.0  # m/s^2: turns and speed changes of a cruising body
    SPEED_MEMORY_S = 180.0
    # a new track's first speeds are loose, and those that pass `speed > 3 sigma` are the ones
    # that came out high: the memory takes speeds from this many reports on
    SPEED_MEMORY_AFTER = 4
    # How far apart the two filters are: the quiet one's offset from the agile one, squared, in
    # units of the agile one's variances, summed over position and velocity on both axes. On a
    # straight leg it stays low (the sweep's `honest` drones: mean 1.5, 99th percentile 7.0);
    # above TURNING_ON the threat is turning and the agile filter is the one to read, until it
    # falls below TURNING_OFF (no flicker between the two at the edge).
    TURNING_ON = 13.0
    TURNING_OFF = 4.0
    TESTED_AFTER = 3  # reports: the agile filter is read before (see `_update`)
    # The sensor's word on its error (`_SensorTest`; see the class's docstring for which
    # filter's innovations test it). What one report may say: to the sigmas every corridor is
    # drawn with, up to 10 sigma (the scale at most 100, ten times the sigmas); to the test for
    # a turn, up to 5 sigma (a report adds at most 0.15 x 24, 3.6, to that test's fit, where
    # 10 sigma added 15; one bad plot still loosens it by more, through the reports after it
    # while the filters recover: docs/engine.md).
    SAY_MAX = 100.0
    TURN_SAY_MAX = 25.0
    FIT_MAX = 100.0  # the widest the scale makes the variances (`FIT_MAX` 1: no test at all)
    # The quiet filter missed a report by more than this (squared, against the agile one's
    # miss): a turn is starting, and the agile filter's innovations test the sensor instead.
    # A sensor's own error moves both about alike (tests/test_corridor_fit.py: a turn is read
    # at the report it is read with no test).
    STRAIGHT_RATIO = 1.5
    # A report's innovations test the sensor only once this many more reports have come
    # (and PENDING_MS gone by) without a turn seen: a turn seen drops those of the reports
    # before it (the quiet filter missed them by the turn's start, which `_straight` cannot
    # always tell from the sensor's error: a turn in a 15 s gap throws both filters alike),
    # and its own.
    PENDING = 2
    PENDING_MS = 10_000  # and this long: a turn seen every second takes a few to show
    PENDING_MAX = WINDOW  # and at most this many wait (a flood of reports a millisecond apart)

    def __init__(self, profile: KindProfile, projection: LocalProjection) -> None:
        self.profile = profile
        self.projection = projection
        self.window = _ReportWindow(self.WINDOW)
        self.east = _Axis(0.0, 0.0, 0.0, 0.0)
        self.north = _Axis(0.0, 0.0, 0.0, 0.0)
        # the same filter for a body that pulls its hardest turn at its top speed all the time
        self.agile_east = _Axis(0.0, 0.0, 0.0, 0.0)
        self.agile_north = _Axis(0.0, 0.0, 0.0, 0.0)
        self.agile_q = (
            max(self.ACCEL_SIGMA, math.radians(profile.turn_rate_dps) * profile.speed_max_mps) ** 2
        )
        self.turn_seen = False  # the two filters far apart (with hysteresis): a turn
        self.turning = False  # the agile filter is read: a turn seen, or too few reports yet
        self.apart = 0.0  # how far apart the two filters are (see TURNING_ON)
        self.t_ms = 0
        self.count = 0
        # (clock ms, speed) of the speeds over the memory, fastest first and each later one
        # slower than the one before it and at least a second after it: the fastest of the
        # last SPEED_MEMORY_S is [0], and there are at most SPEED_MEMORY_S + 1 of them
        self._speeds: deque[tuple[int, float]] = deque()
        self._clock_ms = 0  # time flown out of turns: the memory's clock
        self._reset_fit()

    def _reset_fit(self) -> None:
        # on the quiet filter's innovations on a straight leg, else the agile one's: for the
        # sigmas; on the agile one's only: for the test for a turn
        self.sensor = _SensorTest(self.SAY_MAX)
        self.agile_sensor = _SensorTest(self.TURN_SAY_MAX)
        # the last reports' (time, innovations for `sensor`, the agile one's), not taken yet
        self._pending: deque[tuple[int, Innovations, Innovations]] = deque()
        # What the sensor's errors beyond its word ask of the variances the track gives; and
        # of the test for a turn: no more than the agile filter's innovations bear out. Its
        # model covers any turn the kind can fly, so a manoeuvre the quiet filter misses by on
        # a straight-looking leg (a weave a 15 s cadence cannot tell from the sensor's noise)
        # does not loosen the test for the turn after it.
        self.scale = 1.0
        self.turn_scale = 1.0

    def _axes(self) -> tuple[_Axis, _Axis]:
        if self.turning:
            return self.agile_east, self.agile_north
        return self.east, self.north

    def state(self) -> tuple[float, float, float, float]:
        """(x, y, vx, vy) on the local map at `t_ms`."""
        east, north = self._axes()
        return east.p, north.p, east.v, north.v

    @property
    def position_sigma_m(self) -> float:
        east, north = self._axes()
        return math.sqrt(max(east.pp, north.pp) * self.scale)

    @property
    def speed_sigma_mps(self) -> float:
        east, north = self._axes()
        return math.sqrt(max(east.vv, north.vv) * self.scale)

    @property
    def quiet_speed(self) -> tuple[float, float]:
        """The quiet filter's speed and its 1-sigma, turning or not: what the speed bound starts
        from, with the memory (in a coordinated turn the speed holds while the heading swings;
        the agile filter's wide velocity sigma is about where it points, not how fast it flies;
        `policy.corridor_motion` says when the agile one's is taken instead)."""
        east, north = self.east, self.north
        return math.hypot(east.v, north.v), math.sqrt(max(east.vv, north.vv) * self.scale)

    @property
    def speed_recent_mps(self) -> float:
        """The fastest speed the quiet filter gave over the last SPEED_MEMORY_S of flight out
        of turns, from its SPEED_MEMORY_AFTER-th report on (0 before any)."""
        return self._speeds[0][1] if self._speeds else 0.0

    def _remember_speed(self, dt_ms: int) -> None:
        if self.turn_seen or self.refiltering:
            # in a turn its speed is cut by the turn: the one from before holds through it;
            # while the window is filtered again, the speeds it gives were seen once already
            return
        self._clock_ms += dt_ms
        speeds = self._speeds
        oldest = self._clock_ms - self.SPEED_MEMORY_S * 1000.0
        while speeds and speeds[0][0] < oldest:
            speeds.popleft()
        if self.count < self.SPEED_MEMORY_AFTER:
            return  # no speed to speak of yet
        speed, sigma = self.quiet_speed
        if speed <= 3.0 * sigma:
            return  # the policy's own test of a known speed
        while speeds and speeds[-1][1] <= speed:
            speeds.pop()
        if speeds and speeds[-1][0] > self._clock_ms - 1000:
            # a faster speed less than a second older: it is kept that much longer instead,
            # so the memory holds at most one speed a second whatever a sensor sends
            speeds[-1] = (self._clock_ms, speeds[-1][1])
        else:
            speeds.append((self._clock_ms, speed))

    def _straight(self, quiet: Innovations, agile: Innovations) -> bool:
        """Does a report test the sensor on the quiet filter, sharp as it is? Not where that
        filter missed it by clearly more than the agile one did: on a straight leg the two
        miss by the same error of the sensor's; at a turn's start, before it is seen, the quiet
        one misses by the turn as well, which is not the sensor's to answer for."""
        quiet_sq = quiet[0] * quiet[0] + quiet[2] * quiet[2]
        agile_sq = agile[0] * agile[0] + agile[2] * agile[2]
        return quiet_sq <= self.STRAIGHT_RATIO * agile_sq

    def _test_sensor(self, quiet: Innovations, agile: Innovations, was_turning: bool) -> None:
        """Take a report's innovations towards the sensor's test, once PENDING more reports
        (and PENDING_MS) have come with no turn seen."""
        pending = self._pending
        if self.turn_seen and not was_turning:
            # what the filters missed this report and the few before by: the turn's start
            pending.clear()
            self.sensor.forget_last()
            self.agile_sensor.forget_last()
            return
        if self.count < 3:  # the second report's velocity rests on the first's chord
            return
        # the quiet filter tested once (its chord through the first two reports is the agile
        # one's too: a turn between them throws both alike), on a straight leg
        straight = (
            self.count > self.TESTED_AFTER and not was_turning and self._straight(quiet, agile)
        )
        pending.append((self.t_ms, quiet if straight else agile, agile))
        while len(pending) > self.PENDING and (
            pending[0][0] <= self.t_ms - self.PENDING_MS or len(pending) > self.PENDING_MAX
        ):
            _, innovations, agile_innovations = pending.popleft()
            self.sensor.take(innovations)
            self.agile_sensor.take(agile_innovations)
            self.scale = min(self.sensor.scale, self.FIT_MAX)
            self.turn_scale = min(self.scale, self.agile_sensor.scale)

    def _refiltered(self) -> None:
        # The window holds the last few minutes only: the memory stays as it was, and the
        # filter's speed once through it is taken as any new one is.
        self._remember_speed(0)

    def _update(self, r: Report) -> None:
        x, y = self.projection.to_xy(r.lon, r.lat)
        pos_var = r.sigma_m**2
        vel_var = self.profile.velocity_sigma_mps**2
        if self.count == 0:
            self._reset_fit()
            unknown = self.profile.speed_max_mps**2
            vx, vy = (0.0, 0.0) if r.vel_enu is None else (r.vel_enu[0], r.vel_enu[1])
            v_var = unknown if r.vel_enu is None else vel_var
            self.east = _Axis(x, pos_var, vx, v_var)
            self.north = _Axis(y, pos_var, vy, v_var)
            self.agile_east = _Axis(x, pos_var, vx, v_var)
            self.agile_north = _Axis(y, pos_var, vy, v_var)
            self.turn_seen = False
            self.turning = True  # read the agile filter until TESTED_AFTER (the same one now)
            self.t_ms = r.t_ms
            self.count = 1
            return
        dt_ms = r.t_ms - self.t_ms
        dt = dt_ms / 1000.0
        quiet_e, quiet_n = self.east, self.north
        agile_e, agile_n = self.agile_east, self.agile_north
        q, agile_q = self.ACCEL_SIGMA**2, self.agile_q
        quiet = quiet_e.step(dt, q, x, pos_var) + quiet_n.step(dt, q, y, pos_var)
        agile = agile_e.step(dt, agile_q, x, pos_var) + agile_n.step(dt, agile_q, y, pos_var)
        if dt > 0:
            self.t_ms = r.t_ms
        if r.vel_enu is not None:
            quiet_e.measure_velocity(r.vel_enu[0], vel_var)
            quiet_n.measure_velocity(r.vel_enu[1], vel_var)
            agile_e.measure_velocity(r.vel_enu[0], vel_var)
            agile_n.measure_velocity(r.vel_enu[1], vel_var)
        was_turning = self.turn_seen
        self.count += 1
        floor = _VAR_FLOOR
        apart = (
            (quiet_e.p - agile_e.p) ** 2 / max(agile_e.pp, floor)
            + (quiet_e.v - agile_e.v) ** 2 / max(agile_e.vv, floor)
            + (quiet_n.p - agile_n.p) ** 2 / max(agile_n.pp, floor)
            + (quiet_n.v - agile_n.v) ** 2 / max(agile_n.vv, floor)
        ) / self.turn_scale  # a sensor's errors beyond its word set the two apart as much
        self.apart = apart
        # Until a third report has tested it, the quiet filter's velocity is the chord between
        # two fixes, which a turn between them makes slow and wrong with no sign of either (a
        # cruise missile seen 60 s apart across a reversal: 112 m/s at 60 degrees off, stated
        # to 3 degrees), and the two filters agree on it: read the agile one, which knows what
        # a turn in the gap can do.
        self.turn_seen = apart > (self.TURNING_OFF if self.turn_seen else self.TURNING_ON)
        self.turning = self.turn_seen or self.count < self.TESTED_AFTER
        self._test_sensor(quiet, agile, was_turning)
        self._remember_speed(max(dt_ms, 0))
