"""The master keyring file a rotation rewrites: replaced atomically, one rotation at a time (a lock
beside it), a new primary key added to it (casework.crypto.rotation moves the old keys' users)."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from flask import Flask
from flask_babel import lazy_gettext as _l

from casework.crypto import datakeys
from casework.crypto.keyring import KEY_BYTES, Keyring, MasterKey, keyring_json, new_key_id

log = logging.getLogger("casework.crypto.rotation")


class RotationError(Exception):
    """The rotation cannot proceed (for example: the keyring does not come from a file)."""


_TEMP_PREFIX = ".master-"
_LOCK_NAME = ".rotate.lock"


def write_keyring(path: Path, keyring: Keyring) -> None:
    """Replace the keyring file atomically: readers see the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_TEMP_PREFIX)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(keyring_json(keyring))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@contextlib.contextmanager
def rotation_lock(path: Path) -> Iterator[None]:
    """Hold the lock beside the keyring file for one rotation; refuse when another holds it.

    Two rotations at once would each add a key and the second file written would drop the first
    one's key, with data keys already wrapped under it. The lock is an flock: the system releases it
    when the process ends, even when killed, so a rerun after a kill is never refused."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path.parent / _LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RotationError(
                _l("another `casework keys rotate` is running: wait for it to finish")
            ) from None
        yield
    finally:
        os.close(fd)  # closing releases the lock


def remove_leftovers(path: Path) -> None:
    """Delete temporary keyring files left by a rotation killed while replacing the keyring (it
    never renamed them: the keyring file is whole, old or new). Called under the rotation lock."""
    leftovers = list(path.parent.glob(_TEMP_PREFIX + "*"))
    for leftover in leftovers:
        leftover.unlink(missing_ok=True)
    if leftovers:
        log.info(
            "removed %d unfinished keyring file(s) left by an interrupted rotation", len(leftovers)
        )


def keyring_path(app: Flask) -> Path:
    path = datakeys.keyring_file(app).path
    if path is None:
        raise RotationError(
            _l(
                "the master keyring does not come from a file (CASEWORK_MASTER_KEYS?): add a new "
                "key to it by hand, make it primary, restart, then run `casework keys rotate` to "
                "finish"
            )
        )
    return path


def install(app: Flask, path: Path, keyring: Keyring) -> None:
    write_keyring(path, keyring)
    app.config["MASTER_KEYRING"] = keyring
    datakeys.init_keyring_file(app)  # our own write: no reload needed


def add_primary_key(app: Flask) -> MasterKey:
    """Add a fresh master key to the keyring file and make it primary; old keys stay for now."""
    path = keyring_path(app)
    old: Keyring = app.config["MASTER_KEYRING"]
    key = MasterKey(new_key_id(), os.urandom(KEY_BYTES))
    install(app, path, Keyring(key.id, {**old.keys, key.id: key}, old.retired_signers))
    log.info("master key %s added as primary", key.id)
    return key
