"""Blind indexes: exact-match search over encrypted fields without decrypting the table.

index = first `bits` bits of HMAC-SHA256(K_column, normalised value), where K_column is derived with
HKDF-SHA256 from a master key with info = pack("casework/blind-index/v1", table, column). Truncation
is deliberate: several people share every index value, so the index alone never identifies anyone;
a search fetches the candidates and keeps only those whose decrypted value matches.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from casework.crypto import datakeys, normalise
from casework.crypto.cipher import pack
from casework.crypto.errors import KeyShredded
from casework.crypto.keyring import MasterKey
from casework.crypto.models import DataKey

if TYPE_CHECKING:
    from casework.crypto.fields import EncryptedField

INFO = "casework/blind-index/v1"
DEFAULT_BITS = 14


def bits_range(population: int, other_index_bits: Sequence[int] = ()) -> tuple[int, int]:
    """CipherSweet's rule: the expected coincidences C = R / 2^(sum of index bits on the row) must
    satisfy 2 <= C <= sqrt(R). Returns the (smallest, largest) number of bits for one more index."""
    if population < 4:
        raise ValueError("the population is too small to plan an index")
    used = sum(other_index_bits)
    log_r = math.log2(population)
    low = math.ceil(log_r / 2) - used  # C <= sqrt(R)  ⇔  L >= log2(R)/2 - used
    high = math.floor(log_r - 1) - used  # C >= 2       ⇔  L <= log2(R) - 1 - used
    if high < 1:
        raise ValueError("no safe size: the other indexes already leave fewer than 2 coincidences")
    return max(1, low), high


@dataclass(frozen=True)
class BlindIndex:
    """How one encrypted column is indexed: its normaliser and the index size in bits."""

    normaliser: normalise.Normaliser
    bits: int = DEFAULT_BITS

    def __post_init__(self) -> None:
        if self.normaliser.low_entropy:
            raise ValueError(
                f"never index a low-entropy field alone ({self.normaliser.name}): "
                "its index would give the value away"
            )
        if not 1 <= self.bits <= 32:
            raise ValueError("a blind index has between 1 and 32 bits")


NAME = BlindIndex(normalise.NAME)
PHONE = BlindIndex(normalise.PHONE)
ID_NUMBER = BlindIndex(normalise.ID_NUMBER)


def column_key(master: MasterKey, table: str, column: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=pack(INFO, table, column)
    ).derive(master.material)


def compute(key: bytes, normalised: str, bits: int) -> int:
    digest = hmac.new(key, normalised.encode("utf-8"), hashlib.sha256).digest()
    return int.from_bytes(digest[:4], "big") >> (32 - bits)


def value_for(
    session: Session, master: MasterKey, table: str, column: str, normalised: str, bits: int
) -> int:
    """The index value under one master key (the derived column key is kept for the unit of work)."""
    derived = datakeys.unit_of_work(session).derived
    ident = ("bidx", master.id, table, column)
    key = derived.get(ident)
    if key is None:
        key = derived[ident] = column_key(master, table, column)
    return compute(key, normalised, bits)


def search(
    field: EncryptedField[Any],
    value: str,
    *,
    session: Session | None = None,
    where: Iterable[ColumnElement[bool]] = (),
) -> list[Any]:
    """Rows whose field equals `value` after normalisation: candidates by index, then decrypted
    and compared, so the result has no false positives (and, the index being exact, no false
    negatives). Shredded rows are never returned. Callers rate-limit searches (SECURITY.md)."""
    if field.index is None:
        raise ValueError(f"{field.model.__name__}.{field.name} has no blind index")
    from casework.extensions import db

    session = session or db.session()
    wanted = field.index.normaliser(value)
    if wanted is None:
        return []
    table = field.table_name
    keyring = datakeys.current_keyring()
    # Every key of the keyring: during a rotation some rows are still indexed under the old key.
    values = {
        value_for(session, key, table, field.column_name, wanted, field.index.bits)
        for key in keyring.keys.values()
    }
    model = field.model
    owner_col = getattr(model, field.owner_attr)
    blob_col = getattr(model, field.ct_attr)
    index_col = getattr(model, field.index_attr)
    # Candidates as plain rows, with their owners' wrapped keys in the same query: only the true
    # matches become objects.
    candidates = session.execute(
        select(
            model.id,  # type: ignore[attr-defined]
            owner_col,
            blob_col,
            DataKey.key_version,
            DataKey.master_key_id,
            DataKey.wrapped_key,
        )
        .outerjoin(
            DataKey,
            and_(
                DataKey.owner_kind == field.key_owner,
                DataKey.owner_id == owner_col,
                DataKey.wrapped_key.is_not(None),
            ),
        )
        .where(index_col.in_(values), *where)
    ).all()
    matches: list[Any] = []
    for _row_id, owner_id, _blob, version, master_key_id, wrapped in candidates:
        if wrapped is not None:
            datakeys.remember_wrapped(
                session, field.key_owner, owner_id, version, master_key_id, wrapped
            )
    for row_id, owner_id, blob, *_key in candidates:
        if blob is None or row_id in matches:
            continue
        try:
            plain = field.decrypt_raw(session, row_id, owner_id, blob)
        except KeyShredded:
            continue
        if field.index.normaliser(str(plain)) == wanted:
            matches.append(row_id)
    if not matches:
        return []
    found = session.scalars(select(model).where(model.id.in_(matches))).all()  # type: ignore[attr-defined]
    return sorted(found, key=lambda row: matches.index(row.id))
