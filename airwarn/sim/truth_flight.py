"""Rockets' and ballistic missiles' true flights for the harder simulator, under physics that is
not the engine's.

The engine's filter and predictor fly every body with `airwarn.engine.physics`: a constant ballistic
coefficient, still air, a smooth fit of the U.S. Standard Atmosphere 1976, adaptive RK4. A
simulator that flew its truth with the same code would only test the engine against itself.
Here the truth differs where real flights do:

- **drag varies with the Mach number.** A body's ballistic coefficient `beta` (the truth's
  `beta_kg_m2`) holds at Mach 2; elsewhere its drag coefficient follows a generic slender-body
  curve, `DRAG_RATIO`: 0.6 of it subsonic, a transonic peak of 1.3 at Mach 1.05, 0.75 above
  Mach 4.5. The effective coefficient thus spans about 0.75 to 1.7 times `beta` in one flight,
  which a constant-coefficient model can only follow by learning it as it goes;
- **wind**: a profile per raid, from 2-10 m/s at the ground to a jet of 15-50 m/s at 11 km,
  5 m/s from 20 to 50 km, none above 80 km, its direction veering 30° with height; drag acts on
  the speed through the air;
- **the atmosphere**: U.S. Standard 1976 layers computed from their temperature lapse rates
  (not a fit), and a day's density factor per raid, exp(N(0, 0.05));
- **the integrator**: fixed-step RK4 (0.1 s below 15 km, 0.25 s below 40 km, 1 s below
  100 km, 2 s above), the ground found by linear interpolation of the last step.

Gravity (WGS84 with J2) and the Earth's rotation are physics, not shortcuts, and stay.

The shooters: an unguided rocket is aimed by fire control that knows the drag law, the body's
nominal coefficient (the body's own is 2 % apart) and the raid's air from a met message
(`Weather.forecast`: density within 1 %, wind within 20° and 30 %), so it drifts off by what
the message got wrong: 0.3-3 % of the range, as for real rockets; a guided ballistic missile
corrects for everything and comes down on its target (the default simulator's target, with its
CEP). The boost is the default simulator's: uniform acceleration along a straight line to
burnout.
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass

from airwarn.engine import physics
from airwarn.sim.scenarios import Sample

Vec = tuple[float, float, float]

# Drag coefficient over its value at Mach 2, by Mach number (linear in between).
DRAG_MACH: tuple[float, ...] = (0.0, 0.7, 0.9, 1.05, 1.2, 1.5, 2.0, 3.0, 4.5, 10.0)
DRAG_RATIO: tuple[float, ...] = (0.6, 0.62, 0.85, 1.3, 1.25, 1.15, 1.0, 0.85, 0.75, 0.7)

# U.S. Standard Atmosphere 1976 layers: base height (m), base temperature (K), lapse (K/m),
# base pressure (Pa).
_LAYERS: tuple[tuple[float, float, float, float], ...] = (
    (0.0, 288.15, -0.0065, 101_325.0),
    (11_000.0, 216.65, 0.0, 22_632.06),
    (20_000.0, 216.65, 0.001, 5_474.889),
    (32_000.0, 228.65, 0.0028, 868.0187),
    (47_000.0, 270.65, 0.0, 110.9063),
    (51_000.0, 270.65, -0.0028, 66.93887),
    (71_000.0, 214.65, -0.002, 3.956420),
)
_TOP_M = 86_000.0
_G0 = 9.80665
_M_AIR = 0.0289644  # kg/mol
_R_GAS = 8.3144598  # J/(mol K)
_GAMMA_AIR = 1.4
_GM = physics.GM
_J2_TERM = 1.5 * physics.J2 * physics.A_M**2
_OMEGA = physics.OMEGA


@dataclass(frozen=True)
class Weather:
    """One raid's air: a density factor and a wind profile."""

    density_factor: float = 1.0
    wind_dir_rad: float = 0.0  # where the wind blows towards, at the ground (from north)
    wind_ground_mps: float = 0.0
    wind_jet_mps: float = 0.0
    veer_rad: float = math.radians(30.0)

    @classmethod
    def draw(cls, rng: random.Random) -> Weather:
        return cls(
            math.exp(rng.gauss(0.0, 0.05)),
            rng.uniform(0.0, 2 * math.pi),
            rng.uniform(2.0, 10.0),
            rng.uniform(15.0, 50.0),
        )

    def forecast(self, rng: random.Random) -> Weather:
        """What a battery's met message says of this air: density within 1 %, the wind's
        direction within 20° and its speeds within 30 % (1 sigma, or the range)."""
        return Weather(
            self.density_factor * math.exp(rng.gauss(0.0, 0.01)),
            self.wind_dir_rad + math.radians(rng.gauss(0.0, 20.0)),
            self.wind_ground_mps * rng.uniform(0.7, 1.3),
            self.wind_jet_mps * rng.uniform(0.7, 1.3),
            self.veer_rad,
        )

    def wind_enu(self, h_m: float) -> tuple[float, float]:
        """The wind (east, north, m/s) at a height."""
        if h_m < 11_000.0:
            speed = (
                self.wind_ground_mps
                + (self.wind_jet_mps - self.wind_ground_mps) * max(h_m, 0.0) / 11_000.0
            )
            veer = self.veer_rad * max(h_m, 0.0) / 11_000.0
        elif h_m < 20_000.0:
            speed = self.wind_jet_mps + (5.0 - self.wind_jet_mps) * (h_m - 11_000.0) / 9_000.0
            veer = self.veer_rad
        elif h_m < 50_000.0:
            speed, veer = 5.0, self.veer_rad
        elif h_m < 80_000.0:
            speed, veer = 5.0 * (80_000.0 - h_m) / 30_000.0, self.veer_rad
        else:
            return 0.0, 0.0
        direction = self.wind_dir_rad + veer
        return speed * math.sin(direction), speed * math.cos(direction)


STILL = Weather()


def atmosphere(h_m: float) -> tuple[float, float]:
    """Density (kg/m3) and speed of sound (m/s) of the standard atmosphere at a height."""
    h = max(h_m, 0.0)
    if h >= _TOP_M:
        base_h, base_t, _, base_p = _LAYERS[-1]
        t86 = base_t - 0.002 * (_TOP_M - base_h)
        p86 = base_p * (base_t / t86) ** (-_G0 * _M_AIR / (_R_GAS * -0.002))
        rho86 = p86 * _M_AIR / (_R_GAS * t86)
        return rho86 * math.exp(-(h - _TOP_M) / 6_000.0), math.sqrt(
            _GAMMA_AIR * _R_GAS * t86 / _M_AIR
        )
    i = len(_LAYERS) - 1
    while _LAYERS[i][0] > h:
        i -= 1
    base_h, base_t, lapse, base_p = _LAYERS[i]
    if lapse == 0.0:
        t = base_t
        p = base_p * math.exp(-_G0 * _M_AIR * (h - base_h) / (_R_GAS * base_t))
    else:
        t = base_t + lapse * (h - base_h)
        p = base_p * (base_t / t) ** (_G0 * _M_AIR / (_R_GAS * lapse))
    return p * _M_AIR / (_R_GAS * t), math.sqrt(_GAMMA_AIR * _R_GAS * t / _M_AIR)


def drag_ratio(mach: float) -> float:
    """The drag coefficient over its Mach-2 value."""
    if mach >= DRAG_MACH[-1]:
        return DRAG_RATIO[-1]
    i = bisect.bisect_right(DRAG_MACH, mach) - 1
    f = (mach - DRAG_MACH[i]) / (DRAG_MACH[i + 1] - DRAG_MACH[i])
    return DRAG_RATIO[i] + f * (DRAG_RATIO[i + 1] - DRAG_RATIO[i])


def _height_lat_lon(x: float, y: float, z: float) -> tuple[float, float, float]:
    lat, lon, h = physics.ecef_to_geodetic(x, y, z)
    return h, lat, lon


def _accel(r: Vec, v: Vec, beta: float, weather: Weather, air: tuple[float, float, Vec]) -> Vec:
    """Gravity to J2, the turning frame, and drag through moving air.

    `air` is (density, speed of sound, wind in ECEF) at the step's start: they change little
    over one step, and holding them makes the step four times cheaper."""
    x, y, z = r
    vx, vy, vz = v
    r2 = x * x + y * y + z * z
    rr = math.sqrt(r2)
    z2 = z * z / r2
    k = _J2_TERM / r2
    g = -_GM / (r2 * rr)
    gxy = g * (1.0 + k * (1.0 - 5.0 * z2))
    ax = gxy * x + _OMEGA * _OMEGA * x + 2.0 * _OMEGA * vy
    ay = gxy * y + _OMEGA * _OMEGA * y - 2.0 * _OMEGA * vx
    az = g * (1.0 + k * (3.0 - 5.0 * z2)) * z
    rho, sound, (wx, wy, wz) = air
    if rho > 0.0:
        ux, uy, uz = vx - wx, vy - wy, vz - wz
        speed = math.sqrt(ux * ux + uy * uy + uz * uz)
        d = 0.5 * rho * speed * drag_ratio(speed / sound) / beta
        ax -= d * ux
        ay -= d * uy
        az -= d * uz
    return ax, ay, az


def _air(h: float, lat: float, lon: float, weather: Weather) -> tuple[float, float, Vec]:
    rho, sound = atmosphere(h)
    rho *= weather.density_factor
    we, wn = weather.wind_enu(h)
    wind = physics.enu_to_ecef_vector(lat, lon, we, wn, 0.0) if (we or wn) else (0.0, 0.0, 0.0)
    return rho if h < 150_000.0 else 0.0, sound, wind


def _step_s(h_m: float) -> float:
    if h_m < 15_000.0:
        return 0.1
    if h_m < 40_000.0:
        return 0.25
    return 1.0 if h_m < 100_000.0 else 2.0


@dataclass
class TrueFlight:
    """States (ECEF) from burnout to the ground, every integration step."""

    times_s: list[float]
    positions: list[Vec]
    velocities: list[Vec]
    impact: tuple[float, float, float] | None  # lat, lon, t_s


def fly(
    r0: Vec, v0: Vec, t0_s: float, beta_kg_m2: float, weather: Weather, max_s: float = 7200.0
) -> TrueFlight:
    """Free flight from a state until the ground (height 0 above the ellipsoid)."""
    times, positions, velocities = [t0_s], [r0], [v0]
    r, v, t = r0, v0, t0_s
    h, lat, lon = _height_lat_lon(*r)
    while t - t0_s < max_s:
        dt = _step_s(h)
        air = _air(h, lat, lon, weather)
        a1 = _accel(r, v, beta_kg_m2, weather, air)
        r2 = _add(r, v, dt / 2)
        v2 = _add(v, a1, dt / 2)
        a2 = _accel(r2, v2, beta_kg_m2, weather, air)
        r3 = _add(r, v2, dt / 2)
        v3 = _add(v, a2, dt / 2)
        a3 = _accel(r3, v3, beta_kg_m2, weather, air)
        r4 = _add(r, v3, dt)
        v4 = _add(v, a3, dt)
        a4 = _accel(r4, v4, beta_kg_m2, weather, air)
        r_next = tuple(r[i] + dt / 6 * (v[i] + 2 * v2[i] + 2 * v3[i] + v4[i]) for i in range(3))
        v_next = tuple(v[i] + dt / 6 * (a1[i] + 2 * a2[i] + 2 * a3[i] + a4[i]) for i in range(3))
        h_next, lat, lon = _height_lat_lon(*r_next)
        if h_next <= 0.0:
            f = h / (h - h_next) if h > h_next else 1.0
            r_hit = _lerp(r, r_next, f)  # type: ignore[arg-type]
            v_hit = _lerp(v, v_next, f)  # type: ignore[arg-type]
            lat, lon, _ = physics.ecef_to_geodetic(*r_hit)
            t_hit = t + f * dt
            times.append(t_hit)
            positions.append(r_hit)
            velocities.append(v_hit)
            return TrueFlight(times, positions, velocities, (lat, lon, t_hit))
        r, v, t, h = r_next, v_next, t + dt, h_next  # type: ignore[assignment]
        times.append(t)
        positions.append(r)
        velocities.append(v)
    return TrueFlight(times, positions, velocities, None)


def _add(a: Vec, b: Vec, k: float) -> Vec:
    return a[0] + b[0] * k, a[1] + b[1] * k, a[2] + b[2] * k


def _lerp(a: Vec, b: Vec, f: float) -> Vec:
    return a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f


class TrueBallisticPath:
    """A boost along a straight line, then a `TrueFlight`; `at(t)` as the simulator's paths."""

    def __init__(self, launch: Vec, t_launch_s: float, boost_s: float, flight: TrueFlight) -> None:
        self.launch = launch
        self.t_launch_s = t_launch_s
        self.boost_s = boost_s
        self.flight = flight
        self.burnout = flight.positions[0]

    def at(self, t_s: float) -> Sample:
        r: Vec
        v: Vec
        if t_s < self.t_launch_s + self.boost_s:
            f = max(t_s - self.t_launch_s, 0.0) / self.boost_s
            (x0, y0, z0), (x1, y1, z1) = self.launch, self.burnout
            r = (x0 + (x1 - x0) * f * f, y0 + (y1 - y0) * f * f, z0 + (z1 - z0) * f * f)
            k = 2.0 * f / self.boost_s
            v = ((x1 - x0) * k, (y1 - y0) * k, (z1 - z0) * k)
        else:
            r, v = self._state_at(t_s)
        lat, lon, h = physics.ecef_to_geodetic(*r)
        e, n, u = physics.ecef_to_enu_vector(lat, lon, v)
        return Sample(lat, lon, h, e, n, u)

    def _state_at(self, t_s: float) -> tuple[Vec, Vec]:
        """Cubic Hermite between the two integration states around `t_s`."""
        times = self.flight.times_s
        i = min(max(bisect.bisect_right(times, t_s) - 1, 0), len(times) - 2)
        dt = times[i + 1] - times[i]
        if dt <= 0.0:
            return self.flight.positions[i + 1], self.flight.velocities[i + 1]
        s = min(max((t_s - times[i]) / dt, 0.0), 1.0)
        p0, p1 = self.flight.positions[i], self.flight.positions[i + 1]
        v0, v1 = self.flight.velocities[i], self.flight.velocities[i + 1]
        h00, h10 = 2 * s**3 - 3 * s**2 + 1, s**3 - 2 * s**2 + s
        h01, h11 = -2 * s**3 + 3 * s**2, s**3 - s**2
        r = tuple(h00 * p0[k] + h10 * dt * v0[k] + h01 * p1[k] + h11 * dt * v1[k] for k in range(3))
        v = tuple(v0[k] + (v1[k] - v0[k]) * s for k in range(3))
        return r, v  # type: ignore[return-value]

    def apogee_m(self) -> float:
        return max(physics.ecef_to_geodetic(*r)[2] for r in self.flight.positions)

    def max_speed_mps(self) -> float:
        return max(math.sqrt(sum(c * c for c in v)) for v in self.flight.velocities)


def launch(
    site: tuple[float, float],
    target: tuple[float, float],
    t_launch_s: float,
    *,
    boost_s: float,
    loft_deg: float,
    aim_beta: float,
    true_beta: float,
    aim_weather: Weather,
    weather: Weather,
    iterations: int = 6,
) -> TrueBallisticPath | None:
    """Aim at a target through `aim_weather` with `aim_beta`, fly through `weather` with
    `true_beta`. The aim starts from the engine's physics (the shooter's first firing solution)
    and is corrected by the miss of the shooter's own model, a few times over."""
    lat, lon = site
    site_ecef = physics.geodetic_to_ecef(lat, lon, 0.0)
    shift = (0.0, 0.0)  # of the aim point from the target, east and north (m)
    previous: tuple[tuple[float, float], tuple[float, float]] | None = None
    best: tuple[float, Vec, Vec] | None = None
    for _ in range(iterations):
        solution = _burnout(
            site_ecef, lat, lon, _shift(target, *shift), boost_s, loft_deg, aim_beta
        )
        if solution is None:
            return None
        burnout, v = solution
        trial = fly(burnout, v, t_launch_s + boost_s, aim_beta, aim_weather)
        if trial.impact is None:
            return None
        miss_e, miss_n = _miss_m(trial.impact[:2], target)
        miss = math.hypot(miss_e, miss_n)
        if best is None or miss < best[0]:
            best = (miss, burnout, v)
        if miss < 5.0:
            break
        # How far the impact moves per metre the aim point moves (a secant; the shooter's
        # firing solution and the true flight disagree by up to half again).
        gain = 1.0
        if previous is not None:
            d_aim = (shift[0] - previous[0][0], shift[1] - previous[0][1])
            d_miss = (miss_e - previous[1][0], miss_n - previous[1][1])
            norm = d_aim[0] ** 2 + d_aim[1] ** 2
            if norm > 0.0:
                gain = min(max((d_aim[0] * d_miss[0] + d_aim[1] * d_miss[1]) / norm, 0.3), 3.0)
        previous = (shift, (miss_e, miss_n))
        shift = (shift[0] - miss_e / gain, shift[1] - miss_n / gain)
    assert best is not None
    _, burnout, v = best
    flight = fly(burnout, v, t_launch_s + boost_s, true_beta, weather)
    if flight.impact is None:
        return None
    return TrueBallisticPath(site_ecef, t_launch_s, boost_s, flight)


def _burnout(
    site: Vec,
    lat: float,
    lon: float,
    target: tuple[float, float],
    boost_s: float,
    loft_deg: float,
    beta: float,
) -> tuple[Vec, Vec] | None:
    """The burnout point and velocity of the engine-physics firing solution (as the default
    simulator's boost: half the burnout velocity times the boost time along the line)."""
    try:
        v = physics.aim(lat, lon, *target, beta_kg_m2=beta, loft_deg=loft_deg)
        burnout = _add(site, v, boost_s / 2)
        b_lat, b_lon, b_alt = physics.ecef_to_geodetic(*burnout)
        v = physics.aim(
            b_lat, b_lon, *target, beta_kg_m2=beta, loft_deg=loft_deg, launch_alt_m=b_alt
        )
    except ValueError:
        return None
    return burnout, v


def _miss_m(hit: tuple[float, float], target: tuple[float, float]) -> tuple[float, float]:
    """East and north metres from the target to the hit (small distances)."""
    lat0 = math.radians(target[0])
    m_per_deg = 111_320.0
    return ((hit[1] - target[1]) * m_per_deg * math.cos(lat0), (hit[0] - target[0]) * 110_574.0)


def _shift(point: tuple[float, float], east_m: float, north_m: float) -> tuple[float, float]:
    lat0 = math.radians(point[0])
    return (point[0] + north_m / 110_574.0, point[1] + east_m / (111_320.0 * math.cos(lat0)))
