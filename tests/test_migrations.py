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


def test_an_upgrade_keeps_what_was_there_and_gives_partners_their_usual_services(app):
    """A database at the previous revision, with partners, an audit event and an HMAC checkpoint:
    the new code starts on it (so `casework init` can upgrade it), and the upgrade keeps them."""
    from sqlalchemy import text

    from casework.crypto import selfcheck

    with app.app_context():
        drop_everything()
        upgrade(directory=MIGRATIONS, revision="0a9da25a920b")
        key_id = app.config["MASTER_KEYRING"].primary_id
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO partner (name, kind, active, created_at) VALUES"
                    " ('Shelter', 'shelter', true, CURRENT_TIMESTAMP),"
                    " ('Legal aid', 'legal_aid', true, CURRENT_TIMESTAMP)"
                )
            )
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO audit_event (seq, at, tag, outcome, details, prev_hash, hash)"
                    " VALUES (1, CURRENT_TIMESTAMP, 'access:request:refuse', 'refused', '{}', :h, :h)"
                ),
                {"h": b"\x00" * 32},
            )
            conn.execute(
                text(
                    "INSERT INTO audit_checkpoint (seq, hash, at, key_id, signature)"
                    " SELECT seq, hash, at, :key, :sig FROM audit_event"
                ),
                {"key": key_id, "sig": b"\x01" * 32},
            )
        selfcheck.check_database(app)  # the start-up check reads the old schema without failing
        db.session.rollback()
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as conn:
            services = dict(conn.execute(text("SELECT kind, services FROM partner")).all())
            algorithms = conn.execute(text("SELECT algorithm FROM audit_checkpoint")).scalars()
            assert list(algorithms) == ["hmac-sha256"]
        assert services == {"shelter": "shelter,counselling", "legal_aid": "legal_advice,legal_aid"}
        assert _diff() == []


def test_casework_init_upgrades_and_records_the_deadlines_basis(app):
    from casework.cases.workflow import pending

    with app.app_context():
        drop_everything()
        result = app.test_cli_runner().invoke(args=["init"])
        assert result.exit_code == 0, result.output
        assert pending.current()
        db.session.rollback()
        assert _diff() == []
