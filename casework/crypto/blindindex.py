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
from sqlalchemy import ColumnElement, Integer, and_, literal_column, select, union_all
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


@dataclass(frozen=True)
class Lookup:
    """One exact-match lookup: a value of an indexed field, with conditions of its own."""

    field: EncryptedField[Any]
    value: str
    where: tuple[ColumnElement[bool], ...] = ()


def matches(
    lookups: Sequence[Lookup],
    *,
    session: Session | None = None,
    where: Iterable[ColumnElement[bool]] = (),
    columns: Sequence[Any] = (),
) -> list[tuple[Any, ...]]:
    """Rows matching any of the lookups (fields of one model), as (row id, *columns), in the order
    the lookups were given: every lookup's candidates by index in one query (UNION ALL), with their
    owners' wrapped keys, then decrypted and compared. No object is loaded. Shredded rows and
    values with nothing to index are skipped."""
    from casework.extensions import db

    session = session or db.session()
    keyring = datakeys.current_keyring()
    where = tuple(where)
    branches = []
    wanted: list[tuple[EncryptedField[Any], str]] = []
    for lookup in lookups:
        field = lookup.field
        if field.index is None:
            raise ValueError(f"{field.model.__name__}.{field.name} has no blind index")
        normalised = field.index.normaliser(lookup.value)
        if normalised is None:
            continue
        if wanted and field.model is not wanted[0][0].model:
            raise ValueError("the lookups of one query are on one model")
        # Every key of the keyring: during a rotation some rows are still indexed under the old key.
        values = {
            value_for(
                session, key, field.table_name, field.column_name, normalised, field.index.bits
            )
            for key in keyring.keys.values()
        }
        model = field.model
        owner_col = getattr(model, field.owner_attr)
        branches.append(
            select(
                literal_column(str(len(wanted)), Integer).label("lookup"),
                model.id.label("row_id"),  # type: ignore[attr-defined]
                owner_col.label("owner_id"),
                getattr(model, field.ct_attr).label("blob"),
                DataKey.key_version,
                DataKey.master_key_id,
                DataKey.wrapped_key,
                *columns,
            )
            .outerjoin(
                DataKey,
                and_(
                    DataKey.owner_kind == field.key_owner,
                    DataKey.owner_id == owner_col,
                    DataKey.wrapped_key.is_not(None),
                ),
            )
            .where(getattr(model, field.index_attr).in_(values), *lookup.where, *where)
        )
        wanted.append((field, normalised))
    if not branches:
        return []
    query = branches[0] if len(branches) == 1 else union_all(*branches)
    candidates = sorted(session.execute(query).all(), key=lambda row: row[0])
    for _lookup, _row_id, owner_id, _blob, version, master_key_id, wrapped, *_ in candidates:
        if wrapped is not None:
            field = wanted[_lookup][0]
            datakeys.remember_wrapped(
                session, field.key_owner, owner_id, version, master_key_id, wrapped
            )
    found: dict[Any, tuple[Any, ...]] = {}
    for lookup, row_id, owner_id, blob, _version, _master, _wrapped, *extra in candidates:
        if blob is None or row_id in found:
            continue
        field, normalised = wanted[lookup]
        try:
            plain = field.decrypt_raw(session, row_id, owner_id, blob)
        except KeyShredded:
            continue
        if field.index.normaliser(str(plain)) == normalised:  # type: ignore[union-attr]
            found[row_id] = (row_id, *extra)
    return list(found.values())


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
    from casework.extensions import db

    session = session or db.session()
    ids = [row[0] for row in matches([Lookup(field, value)], session=session, where=where)]
    if not ids:
        return []
    model = field.model
    found = session.scalars(select(model).where(model.id.in_(ids))).all()  # type: ignore[attr-defined]
    order = {row_id: n for n, row_id in enumerate(ids)}
    return sorted(found, key=lambda row: order[row.id])
