"""Alembic environment for the airwarn store: runs online against the engine `migrate` passes.

No alembic.ini and no logging setup: `airwarn.store.migrate` builds the configuration in code
and hands over its engine in `config.attributes["engine"]`.
"""

from __future__ import annotations

from alembic import context

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=None,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
