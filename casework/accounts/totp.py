"""Time-based one-time passwords (RFC 6238): 6 digits, 30 s, one step of drift, no replay."""

from __future__ import annotations

import base64
import hmac
import secrets
import time
from urllib.parse import quote

import segno
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP

DIGITS = 6
STEP_SECONDS = 30
SEED_BYTES = 20


def new_seed() -> bytes:
    return secrets.token_bytes(SEED_BYTES)


def seed_text(seed: bytes) -> str:
    """The base32 form people type into an authenticator app, in groups of four."""
    raw = base64.b32encode(seed).decode("ascii").rstrip("=")
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def _totp(seed: bytes) -> TOTP:
    # SHA-1 is what RFC 6238 and every authenticator app use for TOTP; it is an HMAC here.
    return TOTP(seed, DIGITS, SHA1(), STEP_SECONDS, enforce_key_length=True)  # noqa: S303  # nosec B303


def code_at_step(seed: bytes, step: int) -> str:
    return _totp(seed).generate(step * STEP_SECONDS).decode("ascii")


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // STEP_SECONDS)


def match_step(
    seed: bytes, code: str, *, last_step: int | None, now: float | None = None
) -> int | None:
    """The step the code belongs to (now ±1), or None; a step at or before last_step is a replay."""
    code = "".join(code.split())
    if len(code) != DIGITS or not code.isdigit():
        return None
    step = current_step(now)
    for candidate in (step - 1, step, step + 1):
        if hmac.compare_digest(code_at_step(seed, candidate), code):
            if last_step is not None and candidate <= last_step:
                return None
            return candidate
    return None


def provisioning_uri(seed: bytes, account: str, issuer: str) -> str:
    secret = base64.b32encode(seed).decode("ascii").rstrip("=")
    label = quote(f"{issuer}:{account}")
    return (
        f"otpauth://totp/{label}?secret={secret}&issuer={quote(issuer)}"
        f"&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}"
    )


def qr_svg(uri: str) -> str:
    """The QR code as inline SVG markup (no script, no external image)."""
    return segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff")
