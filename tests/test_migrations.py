"""Alembic migrations build the same schema as the models, on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from casework.extensions import db
from tests.conftest import drop_everything

MIGRATIONS = str(Path(__file__).resolve().parent.parent / "casework" / "migrations")


def _diff() -> list[object]:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_upgrade_to_head_matches_the_models(app):
    with app.app_context():
        drop_everything()
        upgrade(directory=MIGRATIONS)
        assert _diff() == []


def test_downgrade_to_base_and_upgrade_again(app):
    with app.app_context():
        drop_everything()
        upgrade(directory=MIGRATIONS)
        downgrade(directory=MIGRATIONS, revision="base")
        upgrade(directory=MIGRATIONS)
        assert _diff() == []
