"""Dispatch: what the decisions become on each channel (CAP messages, live feeds)."""
