"""Check the translation catalogues: the template matches the sources, and Vietnamese is complete.

Run with `python -m casework.i18n_check`; exits 1 listing every problem.
"""

from __future__ import annotations

import subprocess  # nosec B404  # runs pybabel with fixed arguments
import sys
import tempfile
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "casework" / "translations"
REQUIRED_COMPLETE = ("vi",)


def extract(target: Path) -> None:
    subprocess.run(  # noqa: S603 (fixed arguments, our own tool)  # nosec B603
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "-q",
            "extract",
            "-F",
            str(ROOT / "babel.cfg"),
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "--no-location",
            "--sort-output",
            "--project",
            "casework",
            "-o",
            str(target),
            str(ROOT),
        ],
        check=True,
        cwd=ROOT,
    )


def _key(message) -> str:  # type: ignore[no-untyped-def]
    return str(message.id if isinstance(message.id, str) else message.id[0])


def _ids(path: Path) -> set[str]:
    with path.open("rb") as fh:
        return {_key(m) for m in read_po(fh) if m.id}


def problems(translations: Path = TRANSLATIONS) -> list[str]:
    """Every problem of the catalogues under `translations`: msgids of the sources missing from the
    template, and missing, fuzzy or empty translations in the languages that must be complete."""
    found: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "fresh.pot"
        extract(fresh)
        current = _ids(fresh)
    committed = _ids(translations / "messages.pot")
    found += [
        f"messages.pot is out of date (run `make translations-update`): {m!r}"
        for m in sorted(current - committed)
    ]
    for lang in REQUIRED_COMPLETE:
        with (translations / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
            catalog = {_key(m): m for m in read_po(fh) if m.id}
        for msgid in sorted(current):
            message = catalog.get(msgid)
            strings = (
                ()
                if message is None
                else (message.string if isinstance(message.string, tuple) else (message.string,))
            )
            if message is None:
                found.append(f"{lang}: missing: {msgid!r}")
            elif message.fuzzy:
                found.append(f"{lang}: fuzzy: {msgid!r}")
            elif not all(strings):
                found.append(f"{lang}: untranslated: {msgid!r}")
    return found


def main() -> int:
    found = problems()
    for line in found:
        print(line)
    print(f"translation check: {len(found)} problem(s)")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
