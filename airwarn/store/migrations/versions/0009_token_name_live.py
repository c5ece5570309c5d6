"""A token's name is unique among the live tokens only, so a revoked token can be replaced under
its name.

Threat ids (`radar-1/T1`), audit entries and CAP-sender bindings hang on a token's name, and
replacing a stolen sensor token must keep them: `airwarn tokens revoke radar-1`, then `create
--name radar-1`. `api_token.name` was UNIQUE over every row, so the new token was refused while
the revoked one was kept for its history. Now a partial unique index holds for the rows not
revoked (PostgreSQL and SQLite both have them), and the revoked rows keep their names.

Revision ID: 0009_token_name_live
Revises: 0008_kind_width
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_token_name_live"
down_revision = "0008_kind_width"
branch_labels = None
depends_on = None

INDEX = "api_token_live_name"
LIVE = sa.text("revoked_ms IS NULL")
# SQLite's UNIQUE written inside CREATE TABLE has no name; this names it for the batch copy
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def upgrade() -> None:
    bind = op.get_bind()
    for unique in sa.inspect(bind).get_unique_constraints("api_token"):
        if unique["column_names"] != ["name"]:
            continue
        name = unique["name"] or "uq_api_token_name"
        if bind.dialect.name == "sqlite":  # no ALTER TABLE ... DROP CONSTRAINT: a copy
            with op.batch_alter_table("api_token", naming_convention=NAMING) as batch:
                batch.drop_constraint(name, type_="unique")
        else:
            op.drop_constraint(name, "api_token", type_="unique")
    op.create_index(
        INDEX, "api_token", ["name"], unique=True, sqlite_where=LIVE, postgresql_where=LIVE
    )


def downgrade() -> None:
    # two rows of one name (a revoked token and the one that replaced it) cannot both stay
    # under the older schema, and dropping the revoked one would lose its history: refuse
    tokens = sa.table("api_token", sa.column("name"))
    twice = op.get_bind().execute(
        sa.select(tokens.c.name).group_by(tokens.c.name).having(sa.func.count() > 1).limit(1)
    )
    name = twice.scalar()
    if name is not None:
        raise RuntimeError(
            f"api_token holds more than one token named {name!r} (a revoked one and its "
            "replacement), which the older schema cannot hold: stay at 0009_token_name_live"
        )
    op.drop_index(INDEX, "api_token")
    with op.batch_alter_table("api_token") as batch:
        batch.create_unique_constraint("api_token_name_key", ["name"])
