"""`casework keys rotate` in a process of its own, for the tests that kill it with SIGKILL.

    python -m tests.crypto.rotate_child TMP_PATH [--stop-at rewrap:N | reindex:N | replace:before
                                                  | replace:after] [keys rotate options]

It runs the real command against the crypto test app of TMP_PATH (its SQLite database and keyring
file). --stop-at makes the moment of the kill certain instead of a race against the clock:
- rewrap:N / reindex:N: once the Nth batch of that step has made its updates, and before its commit,
  the process prints "STOPPED" and waits to be killed, inside the open transaction;
- replace:before: the new keyring file is written and fsynced, the process kills itself just before
  renaming it over the keyring; replace:after: just after the rename.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from flask.cli import ScriptInfo

from casework.crypto import rotation
from casework.crypto.cli import keys_group
from tests.crypto.conftest import make_crypto_app

STOPPED = "STOPPED"


def _stop_after(step: str, wanted: int) -> None:
    """Wrap one batch step of the rotation: the wanted-th batch announces itself and waits."""
    name = f"{step}_batch"
    original = getattr(rotation, name)
    done = 0

    def batch(*args: Any, **kwargs: Any) -> int:
        nonlocal done
        moved = original(*args, **kwargs)
        if moved:
            done += 1
        if done == wanted:
            print(STOPPED, flush=True)
            time.sleep(120)  # the test kills the process long before
            raise SystemExit("not killed")
        return moved

    setattr(rotation, name, batch)


def _die_at_replace(when: str, keyring: Path) -> None:
    """Kill this process when the keyring file is about to be, or has just been, replaced."""
    real_replace = os.replace

    def replace(src: Any, dst: Any, **kwargs: Any) -> None:
        if Path(dst) != keyring:
            return real_replace(src, dst, **kwargs)
        if when == "after":
            real_replace(src, dst, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)

    os.replace = replace  # type: ignore[assignment]


def main(argv: list[str]) -> None:
    tmp_path, args = Path(argv[0]), argv[1:]
    app = make_crypto_app(tmp_path)
    if args[:1] == ["--stop-at"]:
        where, arg = args[1].split(":")
        args = args[2:]
        if where == "replace":
            _die_at_replace(arg, Path(app.config["MASTER_KEYRING_FILE"]))
        else:
            _stop_after(where, int(arg))
    keys_group.main(
        ["rotate", *args], prog_name="casework keys", obj=ScriptInfo(create_app=lambda: app)
    )


if __name__ == "__main__":
    main(sys.argv[1:])
