"""Alembic migrations of the airwarn store (run by `airwarn.store.migrate`)."""
