"""The crypto package's errors: small, named, and free of key material or plaintext."""

from __future__ import annotations


class CryptoError(Exception):
    """Base of every error raised for keys or ciphertext."""


class MalformedCiphertext(CryptoError):
    """A stored value is truncated, altered, of an unknown format, or bound to another place."""


class KeyShredded(CryptoError):
    """The value's data key was destroyed (crypto-shredding): the value is erased for good.

    The UI shows such a field as "erased"; nothing can bring it back.
    """


class DataKeyMissing(CryptoError):
    """No data key row exists for this owner and version (it was never created, or was deleted)."""


class UnwrapFailed(CryptoError):
    """A wrapped data key did not unwrap under the master key named with it (wrong key file?)."""
