"""Encrypted model fields: a model declares them, the rest of the code reads and writes plain values.

    class Person(db.Model):
        id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
        full_name = EncryptedText(key_owner="person", index=blindindex.NAME)
        phone = EncryptedText(key_owner="person", index=blindindex.PHONE)

    class Note(db.Model):
        id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
        case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case.id", ondelete="RESTRICT"))
        body = EncryptedText(key_owner="case")          # the key of the row's case (case_id)

Why a descriptor and not a column type: the ciphertext is bound to its row id and encrypted under
the row owner's data key, and a TypeDecorator sees neither (it gets one value, possibly in a batched
executemany). So each field is a Python descriptor that maps, behind it, a binary column named like
the field (`full_name`) holding the ciphertext, and for an indexed field an integer column
`full_name_bidx`. Writing stores the plaintext as pending; a `before_flush` hook encrypts every
pending value once the row id and the owner are known. Reading decrypts on access, so a row whose
key was shredded still loads and only its encrypted fields raise KeyShredded; a person's fields
read as erased instead (ERASED for text, None otherwise), so that one erased person leaves the
rest of her case readable. Neither needs ORM internals nor anything dialect-specific: the same
code runs on SQLite and PostgreSQL.

The columns must be written through the ORM: a bulk UPDATE or INSERT that bypasses the flush cannot
produce a valid ciphertext, and the column type refuses anything but sealed bytes.
"""

from __future__ import annotations

import datetime as dt
import uuid
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

from flask_babel import lazy_gettext as _l
from markupsafe import escape
from sqlalchemy import (
    Integer,
    LargeBinary,
    MetaData,
    String,
    TypeDecorator,
    event,
    inspect,
    select,
)
from sqlalchemy.orm import Mapper, Session, mapped_column, object_session

from casework.crypto import cipher, datakeys
from casework.crypto.blindindex import BlindIndex, value_for
from casework.crypto.errors import CryptoError, KeyShredded

T = TypeVar("T")

PURPOSE = "field"
BIDX_KEY_ATTR = "_blind_index_key_id"
_SEALED = "casework.crypto.sealed"


class _Pending:
    """Marks a ciphertext column whose plaintext waits for the flush."""

    def __repr__(self) -> str:
        return "<pending encryption>"


PENDING: Any = _Pending()


class Ciphertext(TypeDecorator[bytes]):
    """The column behind an encrypted field: sealed bytes only, never a plaintext."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: object) -> bytes | None:
        if value is None or isinstance(value, bytes):
            return value
        if value is PENDING:
            raise CryptoError(
                "an encrypted field reached the database unencrypted (flush bypassed)"
            )
        raise TypeError("an encrypted column stores ciphertext bytes only")

    def process_result_value(self, value: Any, dialect: object) -> bytes | None:
        return None if value is None else bytes(value)


class EncryptedField(Generic[T]):
    """A field encrypted under its owner's data key; T is the Python type read and written."""

    python_type: type = object
    refused_types: tuple[type, ...] = ()

    def __init__(
        self,
        *,
        key_owner: str,
        owner_attr: str | None = None,
        index: BlindIndex | None = None,
        nullable: bool = True,
    ) -> None:
        if key_owner not in ("person", "case"):
            raise ValueError("key_owner is 'person' or 'case'")
        self.key_owner = key_owner
        self.owner_attr = owner_attr or ""  # settled in __set_name__
        self.index = index
        self.nullable = nullable

    def __set_name__(self, owner: type, name: str) -> None:
        self.model = owner
        self.name = self.column_name = name
        self.ct_attr = f"_{name}_ciphertext"
        self.index_attr = f"_{name}_bidx"
        self.pending_key = f"_crypto_pending_{name}"
        self.cache_key = f"_crypto_cache_{name}"
        if not self.owner_attr:
            own = getattr(owner, "__tablename__", None) == self.key_owner
            self.owner_attr = "id" if own else f"{self.key_owner}_id"
        # Declarative reads the class namespace after __set_name__, so these become real columns.
        setattr(owner, self.ct_attr, mapped_column(name, Ciphertext(), nullable=self.nullable))
        if self.index is not None:
            setattr(owner, self.index_attr, mapped_column(f"{name}_bidx", Integer, index=True))
            if BIDX_KEY_ATTR not in owner.__dict__:
                setattr(owner, BIDX_KEY_ATTR, mapped_column("bidx_key_id", String(64), index=True))
        _MODELS.add(owner)

    @property
    def table_name(self) -> str:
        return str(self.model.__table__.name)  # type: ignore[attr-defined]

    # Subclasses turn T into bytes and back.
    def encode(self, value: T) -> bytes:
        raise NotImplementedError

    def decode(self, raw: bytes) -> T:
        raise NotImplementedError

    def binding(self, row_id: object) -> cipher.Binding:
        return cipher.Binding(PURPOSE, self.table_name, self.column_name, str(row_id))

    def owner_id_of(self, instance: Any) -> uuid.UUID:
        """The owner's id: the owner attribute, or the related object when only it is set yet."""
        owner_id = getattr(instance, self.owner_attr)
        if owner_id is None and self.owner_attr.endswith("_id"):
            relationship = self.owner_attr[:-3]
            if relationship in inspect(type(instance)).relationships:
                related = getattr(instance, relationship)
                if related is not None:
                    if related.id is None:
                        related.id = uuid.uuid4()
                    owner_id = related.id
        if owner_id is None:
            raise CryptoError(
                f"{type(instance).__name__}.{self.owner_attr} must be set before "
                f"{self.name} can be encrypted"
            )
        return owner_id  # type: ignore[no-any-return]

    def decrypt_raw(self, session: Session, row_id: object, owner_id: uuid.UUID, blob: bytes) -> T:
        """Decrypt a stored value of this field, given its row and owner (rotation, search)."""
        aead = datakeys.for_read(session, self.key_owner, owner_id, cipher.key_version_of(blob))
        return self.decode(cipher.decrypt(aead, self.binding(row_id), blob))

    def encrypt_raw(
        self,
        session: Session,
        row_id: object,
        owner_id: uuid.UUID,
        value: T,
        *,
        new_row: bool = False,
    ) -> bytes:
        # A row that is its own key owner and is being inserted cannot have a key yet.
        new_owner = new_row and self.owner_attr == "id"
        version, aead = datakeys.for_write(session, self.key_owner, owner_id, new_owner=new_owner)
        return cipher.encrypt(aead, version, self.binding(row_id), self.encode(value))

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> EncryptedField[T]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T | None: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> Any:
        if instance is None:
            return self
        blob = getattr(instance, self.ct_attr)
        if blob is PENDING:
            try:
                return instance.__dict__[self.pending_key]
            except KeyError:
                raise CryptoError(f"{self.name} was copied while pending (merge?)") from None
        if blob is None:
            return None
        session = _session_for(instance)
        token = _token(session)
        cached = instance.__dict__.get(self.cache_key)
        if cached is not None and cached[0] == token and cached[1] == blob:
            return cached[2]
        try:
            value = self.decrypt_raw(session, instance.id, self.owner_id_of(instance), blob)  # type: ignore[attr-defined]
        except KeyShredded:
            # One erased person must not take the whole case file with her: her values read as
            # erased. A case's own key still raises, and the file answers 410 Gone.
            if self.key_owner != "person":
                raise
            value = self.erased_value()
        instance.__dict__[self.cache_key] = (token, blob, value)
        return value

    def erased_value(self) -> Any:
        """What a value of an erased person reads as (None: absent, for dates and the like)."""
        return None

    def __set__(self, instance: object, value: T | None) -> None:
        if value is None:
            if not self.nullable:
                raise ValueError(f"{self.name} cannot be empty")
        elif not isinstance(value, self.python_type) or isinstance(value, self.refused_types):
            raise TypeError(
                f"{self.name} takes {self.python_type.__name__}, not {type(value).__name__}"
            )
        cached = instance.__dict__.get(self.cache_key)
        current = instance.__dict__.get(self.ct_attr)
        if (
            cached is not None
            and current is not PENDING
            and cached[1] == current
            and cached[2] == value
        ):
            return  # unchanged: no new ciphertext, no UPDATE
        self.make_pending(instance, value)

    def make_pending(self, instance: object, value: T | None) -> None:
        instance.__dict__[self.pending_key] = value
        setattr(instance, self.ct_attr, PENDING)


class Erased(str):
    """A text value of an erased person: empty to code that tests or compares it (no phone to
    search by, no first name to share), "[personal data erased]" wherever it is shown."""

    __slots__ = ()

    def __new__(cls) -> Erased:
        return super().__new__(cls, "")

    def __str__(self) -> str:
        return str(ERASED_LABEL)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __html__(self) -> str:
        return str(escape(str(self)))

    def __repr__(self) -> str:
        return "<erased>"


ERASED_LABEL = _l("[personal data erased]")
ERASED: Any = Erased()


def is_erased(instance: object) -> bool:
    """True when this row's person-keyed values were erased (crypto-shredded person key)."""
    spec = fields_of(type(instance))
    if spec is None:
        return False
    for f in spec.fields:
        blob = getattr(instance, f.ct_attr, None)
        if f.key_owner != "person" or blob is None or blob is PENDING:
            continue
        # All of a person's values share her key: the first stored one tells. A stored value
        # that reads as absent or as ERASED is one whose key is gone.
        value = f.__get__(instance)
        return value is ERASED or value is None
    return False


class EncryptedText(EncryptedField[str]):
    python_type = str

    def erased_value(self) -> Any:
        return ERASED

    def encode(self, value: str) -> bytes:
        return value.encode("utf-8")

    def decode(self, raw: bytes) -> str:
        return raw.decode("utf-8")


class EncryptedDate(EncryptedField[dt.date]):
    python_type = dt.date
    refused_types = (dt.datetime,)  # a datetime is a date to isinstance, but not to this column

    def encode(self, value: dt.date) -> bytes:
        return value.isoformat().encode("ascii")

    def decode(self, raw: bytes) -> dt.date:
        return dt.date.fromisoformat(raw.decode("ascii"))


# --- Which models have encrypted fields ---------------------------------------------------------

_MODELS: weakref.WeakSet[type] = weakref.WeakSet()


@dataclass(frozen=True)
class ModelFields:
    model: type
    fields: tuple[EncryptedField[Any], ...]

    @property
    def indexed(self) -> tuple[EncryptedField[Any], ...]:
        return tuple(f for f in self.fields if f.index is not None)


_SPECS: dict[type, ModelFields | None] = {}


def fields_of(model: type) -> ModelFields | None:
    if model not in _SPECS:
        found: dict[str, EncryptedField[Any]] = {}
        for klass in reversed(model.__mro__):
            for name, attr in vars(klass).items():
                if isinstance(attr, EncryptedField):
                    found[name] = attr
        _SPECS[model] = ModelFields(model, tuple(found.values())) if found else None
    return _SPECS[model]


def encrypted_models(metadata: Iterable[MetaData]) -> list[ModelFields]:
    """Models with encrypted fields whose tables belong to these metadata collections."""
    wanted = list(metadata)
    out = []
    for model in list(_MODELS):
        spec = fields_of(model)
        table = getattr(model, "__table__", None)
        if spec is not None and table is not None and any(table.metadata is m for m in wanted):
            out.append(spec)
    return sorted(out, key=lambda s: s.model.__name__)


# --- Sessions ---------------------------------------------------------------------------------


def _session_for(instance: object) -> Session:
    session = object_session(instance)
    if session is None:
        from casework.extensions import db

        session = db.session()
    return session


def _token(session: Session) -> int:
    return datakeys.unit_of_work(session).token


def note_owners(target: Any, context: Any) -> None:
    """load event: remember whose keys this row needs, so a page of rows unwraps them at once."""
    spec = fields_of(type(target))
    if spec is None or context.session is None:
        return
    uow = datakeys.unit_of_work(context.session)
    loaded = target.__dict__
    for f in spec.fields:
        owner = loaded.get(f.owner_attr)
        if owner is not None and loaded.get(f.ct_attr) is not None:
            datakeys.note_loaded(uow, f.key_owner, owner)


def seal_pending(session: Session, _flush_context: object, _instances: object) -> None:
    """before_flush: encrypt every pending value, now that row ids and owners are known."""
    for obj in [*session.new, *session.dirty]:
        spec = fields_of(type(obj))
        if spec is not None:
            _seal(session, obj, spec)


def _reencrypt_on_owner_change(session: Session, obj: Any, spec: ModelFields) -> None:
    """A row moved to another owner (a note to another case) is encrypted again under its key."""
    state = inspect(obj)
    if state.key is None:
        return
    old_owners: dict[str, Any] = {}
    for f in spec.fields:
        if f.owner_attr == "id":
            continue
        history = state.attrs[f.owner_attr].history
        if not history.added:
            continue
        if f.owner_attr not in old_owners:
            if history.deleted:
                old_owners[f.owner_attr] = history.deleted[0]
            else:  # the old value was never loaded: ask the database
                column = getattr(type(obj), f.owner_attr)
                with session.no_autoflush:
                    old_owners[f.owner_attr] = session.scalar(
                        select(column).where(type(obj).id == obj.id)  # type: ignore[attr-defined]
                    )
        old = old_owners[f.owner_attr]
        if old is None or old == history.added[0]:
            continue
        blob = getattr(obj, f.ct_attr)
        if isinstance(blob, bytes):
            f.make_pending(obj, f.decrypt_raw(session, obj.id, old, blob))


def _seal(session: Session, obj: Any, spec: ModelFields) -> None:
    if obj.id is None:
        obj.id = uuid.uuid4()
    _reencrypt_on_owner_change(session, obj, spec)
    pending = [f for f in spec.fields if obj.__dict__.get(f.ct_attr) is PENDING]
    if not pending:
        return
    primary = datakeys.current_keyring().primary
    reindex = spec.indexed and (
        any(f.index is not None for f in pending) and getattr(obj, BIDX_KEY_ATTR) != primary.id
    )
    sealed = session.info.setdefault(_SEALED, [])
    token = _token(session)
    new_row = inspect(obj).key is None
    for f in pending:
        if f.pending_key not in obj.__dict__:
            raise CryptoError(f"{f.name} was copied while pending (merge?): set it again")
        value = obj.__dict__.pop(f.pending_key)
        blob = None
        if value is not None:
            blob = f.encrypt_raw(session, obj.id, f.owner_id_of(obj), value, new_row=new_row)
        setattr(obj, f.ct_attr, blob)
        obj.__dict__[f.cache_key] = (token, blob, value)
        sealed.append((obj, f, value))
        if f.index is not None:
            _set_index(session, obj, f, value, primary)
    if reindex:
        for f in spec.indexed:
            if f not in pending:
                _set_index(session, obj, f, f.__get__(obj), primary)
    if spec.indexed and (reindex or any(f.index is not None for f in pending)):
        has_index = any(getattr(obj, f.index_attr) is not None for f in spec.indexed)
        setattr(obj, BIDX_KEY_ATTR, primary.id if has_index else None)


def _set_index(
    session: Session, obj: Any, f: EncryptedField[Any], value: Any, primary: Any
) -> None:
    spec = f.index
    wanted = None if value is None or spec is None else spec.normaliser(str(value))
    index = None
    if wanted is not None and spec is not None:
        index = value_for(session, primary, f.table_name, f.column_name, wanted, spec.bits)
    setattr(obj, f.index_attr, index)


def _forget_sealed(session: Session) -> None:
    session.info.pop(_SEALED, None)


def _restore_after_rollback(session: Session, _previous: object) -> None:
    """A new row rolled back keeps its Python values: make them pending again, so that a retry
    encrypts them afresh (their data key may have been rolled back with them)."""
    kept = []
    for obj, f, value in session.info.pop(_SEALED, []):
        if inspect(obj).transient:
            f.make_pending(obj, value)
        else:
            kept.append((obj, f, value))
    if kept:
        session.info[_SEALED] = kept


def install(session_class: type[Session] = Session) -> None:
    """Attach the hooks to every session (idempotent; called from crypto.init_app)."""
    hooks = [
        ("before_flush", seal_pending),
        ("after_commit", _forget_sealed),
        ("after_soft_rollback", _restore_after_rollback),
        ("after_transaction_end", datakeys.end_unit_of_work),
    ]
    for name, fn in hooks:
        if not event.contains(session_class, name, fn):
            event.listen(session_class, name, fn)
    if not event.contains(Mapper, "load", note_owners):
        event.listen(Mapper, "load", note_owners)
