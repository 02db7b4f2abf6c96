"""Ten committed vectors, under a committed TEST-ONLY master key, decrypt in every later version.

If one of these fails, the change broke every database in the field: change the code, never the
vectors (a new format gets a new version byte and new vectors beside these)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from casework.crypto import blindindex, cipher, datakeys, normalise, selfcheck
from casework.crypto.keyring import MasterKey

DOC = json.loads((Path(__file__).parent / "golden_vectors.json").read_text(encoding="utf-8"))
MASTER = MasterKey(DOC["master_key"]["id"], base64.b64decode(DOC["master_key"]["key"]))
NORMALISERS = {"name": normalise.name, "phone": normalise.phone, "id_number": normalise.id_number}


def test_there_are_ten_vectors_under_the_test_only_key() -> None:
    assert len(DOC["vectors"]) == 10
    assert MASTER.material == bytes(range(32))  # public by design: never a real key
    assert DOC["kek_info"] == datakeys.KEK_INFO.decode()


@pytest.mark.parametrize("vector", DOC["vectors"], ids=lambda v: v["name"])
def test_golden_vector_decrypts(vector: dict[str, object]) -> None:
    key = datakeys.unwrap(datakeys.kek(MASTER), base64.b64decode(str(vector["wrapped_data_key"])))
    binding = cipher.Binding(
        str(vector["purpose"]), str(vector["table"]), str(vector["column"]), str(vector["row_id"])
    )
    blob = base64.b64decode(str(vector["ciphertext"]))
    assert cipher.key_version_of(blob) == vector["key_version"]
    assert cipher.decrypt(AESGCM(key), binding, blob).decode("utf-8") == vector["plaintext"]


@pytest.mark.parametrize(
    "vector", [v for v in DOC["vectors"] if "blind_index" in v], ids=lambda v: v["name"]
)
def test_golden_blind_index_is_stable(vector: dict[str, dict[str, object]]) -> None:
    index = vector["blind_index"]
    normalised = NORMALISERS[str(index["normaliser"])](str(vector["plaintext"]))
    assert normalised == index["normalised"]
    key = blindindex.column_key(MASTER, str(vector["table"]), str(vector["column"]))
    assert blindindex.compute(key, str(normalised), int(index["bits"])) == index["value"]  # type: ignore[call-overload]


def test_the_self_checks_known_answer_is_the_first_vector() -> None:
    first = DOC["vectors"][0]
    assert first["ciphertext"] == selfcheck.KAT_CIPHERTEXT
    assert first["wrapped_data_key"] == selfcheck.KAT_WRAPPED
    selfcheck.known_answer()
