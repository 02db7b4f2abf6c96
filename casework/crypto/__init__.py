"""Keys and ciphertext: the only package that touches either.

Public API: EncryptedText / EncryptedDate (model fields), blindindex.NAME / PHONE / ID_NUMBER and
search(), files.store() / open_stream(), shredding.shred(), rotation.run(), derived.derive_key()
(the keys of backups and of old audit checkpoints); errors in errors.py. See docs/crypto.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask
    from sqlalchemy import MetaData


def init_app(app: Flask, *, selfcheck: bool = True) -> None:
    """Wire the package into an app: session hooks, keyring reloads, storage pragmas, self-check."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from casework.crypto import datakeys, fields, files, shredding
    from casework.extensions import db

    datakeys.init_keyring_file(app)
    fields.install(Session)
    files.install(Session)
    if not event.contains(Session, "after_commit", shredding.after_commit):
        event.listen(Session, "after_commit", shredding.after_commit)
    app.extensions["casework.crypto.metadata"] = [db.metadata]

    @app.before_request
    def _reload_keyring() -> None:
        datakeys.reload_if_changed(app)

    @app.teardown_appcontext
    def _drop_keys(_exc: BaseException | None) -> None:
        # The scoped session is removed right after; this makes the end of the keys explicit.
        if db.session.registry.has():
            datakeys.end_unit_of_work(db.session())

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _sqlite_secure_delete(db.engine)

    if not selfcheck:
        return  # `casework restore` checks once the restored data is in place
    if app.config["ENV_NAME"] != "testing" or app.config.get("CRYPTO_SELFCHECK"):
        from casework.crypto import selfcheck

        selfcheck.run(app)


def register_metadata(app: Flask, metadata: MetaData) -> None:
    """Make models of another MetaData (test-only models) known to shredding and rotation."""
    app.extensions["casework.crypto.metadata"].append(metadata)


def _sqlite_secure_delete(engine: object) -> None:
    from sqlalchemy import event

    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # FAST: freed cells are zeroed when it costs no extra I/O, so old copies of wrapped keys
        # and ciphertexts do not linger in page slack; shredding turns it fully ON.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA secure_delete=FAST")
        cursor.close()

    if not event.contains(engine, "connect", _on_connect):
        event.listen(engine, "connect", _on_connect)
