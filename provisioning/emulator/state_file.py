"""The emulator's state file: encrypted at rest, written atomically, refused with a reason when unreadable.

The file holds everything the emulator knows, secrets included (Secrets Manager values, SSM SecureStrings,
the database password), so it is a Fernet token (AES-CBC + HMAC) under a key from the environment, never
readable without it. Inside: one JSON header line (format, moto version, save time) and the zlib-compressed
snapshot. This module knows nothing of moto's objects (see ``persistence``), so the launcher can import it
to derive the key without loading moto.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# The environment variable holding the Fernet key of the state file (never a command-line argument:
# argv is visible to every user of the machine).
STATE_KEY_VARIABLE = "LAUNCHPAD_EMULATOR_STATE_KEY"
FORMAT_VERSION = 1


class StateKeyError(ValueError):
    """The state file's key is missing or is not a Fernet key."""


class StateRefused(Exception):
    """A state file that cannot be used: its ``reason`` says why, in words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Header:
    """What the state file says about itself, readable only with the key."""

    moto_version: str
    saved_at: str
    format: int = FORMAT_VERSION


def derive_state_key(secret: str) -> str:
    """A Fernet key for the state file derived from ``secret`` (the portal's SECRET_KEY) with HKDF.

    Its own salt: the state file's key differs from the key the portal encrypts its database fields with.
    """
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"launchpad-emulator-state", info=b"fernet").derive(
        secret.encode()
    )
    return base64.urlsafe_b64encode(derived).decode()


def fernet(key: str | None) -> Fernet:
    """The Fernet of ``key``, or :class:`StateKeyError` saying what is wrong with it."""
    if not key:
        raise StateKeyError(
            f"A state file needs its encryption key in {STATE_KEY_VARIABLE} (a Fernet key: "
            'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())").'
        )
    try:
        return Fernet(key.encode())
    except ValueError as error:
        raise StateKeyError(f"{STATE_KEY_VARIABLE} is not a Fernet key (32 url-safe base64-encoded bytes).") from error


def encode(snapshot: bytes, header: Header, cipher: Fernet) -> bytes:
    """The state file's bytes: header line and compressed ``snapshot``, encrypted together."""
    plain = json.dumps(header.__dict__).encode() + b"\n" + zlib.compress(snapshot, 1)
    return cipher.encrypt(plain)


def decode(token: bytes, cipher: Fernet, moto_version: str) -> tuple[Header, bytes]:
    """Header and snapshot of a state file written for ``moto_version``, or :class:`StateRefused`."""
    try:
        plain = cipher.decrypt(token)
    except InvalidToken:
        raise StateRefused(
            f"it cannot be decrypted with {STATE_KEY_VARIABLE} (written with another key, or not a state file)"
        ) from None
    header_line, _, compressed = plain.partition(b"\n")
    try:
        header = Header(**json.loads(header_line))
    except (ValueError, TypeError):
        raise StateRefused("it is not an emulator state file (no header)") from None
    if header.format != FORMAT_VERSION:
        raise StateRefused(f"it has format {header.format}, this emulator reads format {FORMAT_VERSION}")
    if header.moto_version != moto_version:
        # moto's objects change between versions: unpickling another version's would give broken resources.
        raise StateRefused(f"it was saved by moto {header.moto_version}, this emulator runs moto {moto_version}")
    try:
        return header, zlib.decompress(compressed)
    except zlib.error:
        raise StateRefused("its snapshot is damaged (cannot be decompressed)") from None


def read(path: Path) -> bytes | None:
    """The file's bytes, ``None`` when there is none, or :class:`StateRefused` when it cannot be read."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise StateRefused(f"it cannot be read ({error.strerror})") from None


def remove_leftovers(path: Path) -> None:
    """Delete temporary files a killed emulator left beside ``path`` (encrypted, but litter all the same)."""
    for leftover in path.parent.glob(f".{path.name}.*.tmp"):
        leftover.unlink(missing_ok=True)


def move_aside(path: Path) -> Path | None:
    """Rename a refused state file out of the way (kept, for a look with the right key); its new path."""
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.refused-{stamp}")
    try:
        os.replace(path, target)
    except OSError:
        return None
    return target


def describe(status: dict) -> str:
    """One line saying what became of the AWS state at start: restored (what, from when), refused or empty."""
    path = status.get("state_file")
    if not path:
        return "AWS state kept in memory only: it is gone when the emulator stops."
    if status.get("refused"):
        moved = f"; moved to {status['moved_to']}" if status.get("moved_to") else ""
        return f"AWS state NOT restored: {path} was refused, {status['refused']}{moved}. Started empty."
    restored = status.get("restored")
    if not restored:
        return f"AWS state: none saved yet in {path}, started empty."
    regions = ", ".join(restored["regions"]) or "no region"
    return (
        f"AWS state restored from {path} (saved {restored['saved_at']}): {len(restored['services'])} services "
        f"({', '.join(restored['services'])}) in {regions}."
    )
