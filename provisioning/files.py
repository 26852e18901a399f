"""Writing a file so that no reader ever sees half of it: for the broker's messages, the emulator's state file
and the toolchain's CLI config."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: str | os.PathLike, data: bytes, suffix: str = ".tmp") -> None:
    """Replace ``path`` with ``data`` in one step: a reader sees the old file (or none) or the whole new one.

    The bytes go to a hidden temporary file in the same folder (so the rename is atomic), created 0600 by
    mkstemp (never readable by others, not even for a moment) and named ``.<name>.<random><suffix>`` (a
    suffix readers of the folder can pass over), fsynced, then renamed over ``path``; the folder is fsynced
    so the rename itself survives a crash of the machine.
    """
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    try:
        with open(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
