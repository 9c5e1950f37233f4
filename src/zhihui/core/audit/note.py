"""Checkpoints as C2SP signed notes (c2sp.org/signed-note, c2sp.org/tlog-checkpoint), the
format Go's sumdb/note and transparency-log witnesses read, signed with Ed25519.

    <origin>\\n<tree size>\\n<base64 root hash>\\n
    \\n
    — <key name> <base64(4-byte key hash || 64-byte Ed25519 signature)>\\n

key hash = SHA-256(name || 0x0A || 0x01 || public key)[:4]; the verifier key is
``<name>+<hex key hash>+<base64(0x01 || public key)>``. The signature covers the text
(the three lines with their newlines), not the blank line.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ED25519 = 0x01
DASH = "\u2014 "  # em dash and a space start every signature line
KEY_FILE = "audit_ed25519.pem"


class NoteError(ValueError):
    """The note is malformed, or no signature by the expected key verifies."""


def key_hash(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public_key).digest()[:4]


def valid_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def origin_for(site_url: str) -> str:
    """A schema-less URL naming the log: ``host[:port][/path]/audit``."""
    bare = site_url.split("://", 1)[-1].rstrip("/")
    return f"{bare}/audit".replace(" ", "")


@dataclass(frozen=True)
class Verifier:
    name: str
    key_id: bytes
    public_key: bytes

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        try:
            name, hex_id, b64 = vkey.strip().split("+", 2)
            raw = base64.b64decode(b64, validate=True)
            key_id = bytes.fromhex(hex_id)
        except (ValueError, binascii.Error) as exc:
            raise NoteError("malformed verifier key") from exc
        if not valid_name(name) or len(raw) != 33 or raw[0] != ED25519 or len(key_id) != 4:
            raise NoteError("malformed verifier key")
        if key_hash(name, raw[1:]) != key_id:
            raise NoteError("verifier key hash does not match its key")
        return cls(name, key_id, raw[1:])

    def __str__(self) -> str:
        raw = base64.b64encode(bytes([ED25519]) + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{raw}"

    def verify(self, text: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, text)
        except InvalidSignature:
            return False
        return True


class Signer:
    """The log's Ed25519 key under a name (the origin)."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        if not valid_name(name):
            raise ValueError(f"not a key name: {name!r}")
        self.name = name
        self._key = private_key
        pub = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.verifier = Verifier(name, key_hash(name, pub), pub)

    def sign(self, text: str) -> str:
        if not text.endswith("\n") or "\n\n" in text:
            raise ValueError("note text must end in one newline and hold no blank line")
        sig = self._key.sign(text.encode())
        line = base64.b64encode(self.verifier.key_id + sig).decode()
        return f"{text}\n{DASH}{self.name} {line}\n"


def load_key(home: Path) -> Ed25519PrivateKey:
    """The log's private key under ``home``; made (mode 600) the first time it is needed."""
    path = home / KEY_FILE
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: use theirs
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 key")
    return key


def checkpoint_text(origin: str, size: int, root: bytes) -> str:
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes


def parse_checkpoint(note: str) -> tuple[Checkpoint, bytes, list[tuple[str, bytes, bytes]]]:
    """(checkpoint, signed text, [(key name, key id, signature)]); NoteError if malformed."""
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise NoteError("not a signed note")
    text, sig_block = note[: split + 1], note[split + 2:]
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise NoteError("a checkpoint has an origin, a size and a root hash")
    origin, size_s, root_s = lines[:3]
    if not size_s.isdigit() or (size_s != "0" and size_s.startswith("0")):
        raise NoteError("malformed tree size")
    try:
        root = base64.b64decode(root_s, validate=True)
    except binascii.Error as exc:
        raise NoteError("malformed root hash") from exc
    if len(root) != 32 or not origin:
        raise NoteError("malformed checkpoint")
    signatures = []
    for line in sig_block[:-1].split("\n"):
        if not line.startswith(DASH):
            raise NoteError("malformed signature line")
        name, _, b64 = line[len(DASH):].rpartition(" ")
        try:
            raw = base64.b64decode(b64, validate=True)
        except binascii.Error as exc:
            raise NoteError("malformed signature") from exc
        if len(raw) < 5:
            raise NoteError("malformed signature")
        signatures.append((name, raw[:4], raw[4:]))
    return Checkpoint(origin, int(size_s), root), text.encode(), signatures


def open_checkpoint(note: str, verifier: Verifier) -> Checkpoint:
    """The checkpoint if ``verifier``'s signature on it is good; NoteError otherwise."""
    cp, text, signatures = parse_checkpoint(note)
    for name, key_id, sig in signatures:
        if name == verifier.name and key_id == verifier.key_id:
            if verifier.verify(text, sig):
                return cp
            raise NoteError("bad signature")
    raise NoteError("not signed by this log's key")
