"""Keys derived for backups and old audit checkpoints: the same bytes as before they moved here.

The values below were produced by the code that derived these keys itself (HKDF in
casework/ops/archive.py and casework/audit/checkpoints.py) under the TEST-ONLY master key 0…31: a
backup or a checkpoint made then must still open and verify now.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
from datetime import UTC, datetime

import pytest

from casework.audit import checkpoints
from casework.crypto.derived import Purpose, derive_key
from casework.crypto.keyring import Keyring, MasterKey, UnknownKey
from casework.ops import archive

MASTER = MasterKey("mk-golden-test", bytes(range(32)))
OTHER = MasterKey("mk-other", bytes(range(32, 64)))
KEYRING = Keyring(MASTER.id, {MASTER.id: MASTER, OTHER.id: OTHER})

ARCHIVE_KEY = "ca5bbf7e3da2f1ffce15d8201de6399ba4b265b74634f5e6268ce37a52c4f648"
CHECKPOINT_KEY = "c10e013ddc2e40e958111f094c1e25a12446ceb34509bde8a49add5aa6df5b65"
# An archive of b"casework backup sealed before derive_key existed".
OLD_ARCHIVE = (
    "43574241434b55500100667b226368756e6b5f73697a65223a20313034383537362c20226d61737465725f6b65"
    "795f6964223a20226d6b2d676f6c64656e2d74657374222c202273616c74223a20223739616262396333613066"
    "333832353464633034666566613666336637643965227d6bdd367a45b434dfc85fd804b3953e9e8c53f589a6e4"
    "5c1f4df854559321a8813ff8ea84b4fc8d3ad442f2210923582f321c0a8c62404c932419ca6002dda701"
)
# An HMAC checkpoint of sequence 7, head sha256(b"head"), at 2026-12-01 08:00 UTC.
OLD_CHECKPOINT_MAC = "098b289397d773ffc637006ece6e445a482a336e93676fd886209e04c2a66d81"


def test_the_derived_keys_are_the_ones_backups_and_checkpoints_were_made_with() -> None:
    salt = bytes(range(100, 116))
    assert derive_key(KEYRING, Purpose.BACKUP_ARCHIVE, salt=salt) == (
        MASTER.id,
        bytes.fromhex(ARCHIVE_KEY),
    )
    assert derive_key(KEYRING, Purpose.AUDIT_CHECKPOINT_HMAC, key_id=MASTER.id) == (
        MASTER.id,
        bytes.fromhex(CHECKPOINT_KEY),
    )


def test_a_backup_sealed_before_still_opens() -> None:
    plain = b"".join(archive.unseal(io.BytesIO(bytes.fromhex(OLD_ARCHIVE)), KEYRING))
    assert plain == b"casework backup sealed before derive_key existed"
    # Under a keyring that holds another key with the same id, it fails its check.
    impostor = Keyring(MASTER.id, {MASTER.id: MasterKey(MASTER.id, OTHER.material)})
    with pytest.raises(archive.ArchiveError, match="chunk 0"):
        b"".join(archive.unseal(io.BytesIO(bytes.fromhex(OLD_ARCHIVE)), impostor))


def test_an_hmac_checkpoint_signed_before_still_verifies() -> None:
    at = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    head_hash = hashlib.sha256(b"head").digest()
    mac = bytes.fromhex(OLD_CHECKPOINT_MAC)
    head = checkpoints.SignedHead(7, head_hash, at, MASTER.id, mac, checkpoints.LEGACY)
    assert checkpoints.signature_valid(KEYRING, head)
    moved = checkpoints.SignedHead(8, head_hash, at, MASTER.id, mac, checkpoints.LEGACY)
    assert not checkpoints.signature_valid(KEYRING, moved)
    unknown = checkpoints.SignedHead(7, head_hash, at, "mk-gone", mac, checkpoints.LEGACY)
    assert not checkpoints.signature_valid(KEYRING, unknown)


def test_each_purpose_and_each_master_key_gives_its_own_key() -> None:
    salt = bytes(16)
    keys = {
        derive_key(KEYRING, Purpose.BACKUP_ARCHIVE, salt=salt)[1],
        derive_key(KEYRING, Purpose.BACKUP_ARCHIVE, salt=bytes([1]) * 16)[1],
        derive_key(KEYRING, Purpose.BACKUP_ARCHIVE, key_id=OTHER.id, salt=salt)[1],
        derive_key(KEYRING, Purpose.AUDIT_CHECKPOINT_HMAC)[1],
        derive_key(KEYRING, Purpose.AUDIT_CHECKPOINT_HMAC, key_id=OTHER.id)[1],
    }
    assert len(keys) == 5 and all(len(k) == 32 for k in keys)
    assert MASTER.material not in keys and OTHER.material not in keys


def test_a_derivation_outside_the_list_or_without_its_salt_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown key purpose"):
        derive_key(KEYRING, b"casework/backup-archive/v1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="16-byte salt"):
        derive_key(KEYRING, Purpose.BACKUP_ARCHIVE)
    with pytest.raises(ValueError, match="16-byte salt"):
        derive_key(KEYRING, Purpose.BACKUP_ARCHIVE, salt=bytes(8))
    with pytest.raises(ValueError, match="takes no salt"):
        derive_key(KEYRING, Purpose.AUDIT_CHECKPOINT_HMAC, salt=bytes(16))
    with pytest.raises(UnknownKey):
        derive_key(KEYRING, Purpose.AUDIT_CHECKPOINT_HMAC, key_id="mk-gone")


def test_an_archive_whose_salt_lost_a_byte_is_refused_as_damaged() -> None:
    source = io.BytesIO(bytes.fromhex(OLD_ARCHIVE))
    header, meta = archive.read_header(source)
    meta["salt"] = str(meta["salt"])[:-2]
    body = json.dumps(meta, sort_keys=True).encode()
    broken = header[: len(archive.MAGIC) + 1] + struct.pack(">H", len(body)) + body + source.read()
    with pytest.raises(archive.ArchiveError, match="header is damaged"):
        b"".join(archive.unseal(io.BytesIO(broken), KEYRING))
