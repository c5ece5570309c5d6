"""Simulated raids with ground truth (`scenarios`) and the scoring of decisions against them
(`evaluate`)."""

from airwarn.sim.scenarios import SCENARIOS, plan, simulate, write_simulation

__all__ = ["SCENARIOS", "plan", "simulate", "write_simulation"]
