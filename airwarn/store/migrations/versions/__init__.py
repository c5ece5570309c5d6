"""Schema revisions, oldest first: 0001_history, then 0002_..., each building on the last."""
