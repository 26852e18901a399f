"""The embedded Celery broker: kombu's filesystem transport made safe to share between processes.

Selected by ``CELERY_BROKER_URL`` unset or ``filesystem://`` (portal/settings.py); Redis and RabbitMQ URLs
never reach this module.

Why not kombu's own filesystem transport: its producer creates the message file under its final name and
then writes it, while consumers list the folder, so a consumer can take a file that is still empty or half
written and crash on it (kombu issue #1551: the worker's "Unrecoverable error: JSONDecodeError" that stopped
the whole of ``make run``). It also moves taken messages into the system's temporary folder, where a copy
across filesystems is not an atomic claim, and rewrites the exchange tables in place (a reader can find one
truncated). Why not kombu's SQLAlchemy transport on SQLite: every producer and consumer would then contend
for one database lock with the portal's own writes, and its consumer deletes a message when it reads it.

The design here keeps kombu's folder layout and file names (messages queued by the stock transport are still
delivered) and changes only how files appear and disappear:

- A producer writes the message to a hidden ``.part`` name that no consumer matches, fsyncs it, then
  ``os.replace``s it to its final name (atomic on POSIX): a consumer sees a whole message or nothing.
  The folder is fsynced too, so a message queued survives a crash of the machine, not only of a process.
- A consumer reads a message where it lies and claims it by removing it (or by moving it into the
  processed folder): of two consumers reading the same file, the one whose removal fails drops its copy.
  Nothing is ever copied to the system's temporary folder; message files are 0600 in the broker folder.
- A file that is not a message (empty, truncated, not JSON: written by something else) is moved into the
  ``rejected`` folder with a warning in the log, and the next message is delivered: it never stops a worker.
- Exchange tables are rewritten under a lock of their own through the same write-then-rename.

File names start with the wall-clock time in nanoseconds, zero-padded, so a sorted listing is the order of
sending, across processes and restarts.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from queue import Empty

from kombu.exceptions import ChannelError
from kombu.transport import filesystem, virtual
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads
from kombu.utils.objects import cached_property

from provisioning import files

log = logging.getLogger(__name__)

PART_SUFFIX = ".part"


def write_atomically(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (provisioning.files), under a ``.part`` name no consumer matches."""
    files.write_atomically(path, data, suffix=PART_SUFFIX)


class Channel(filesystem.Channel):
    """kombu's filesystem channel whose messages appear whole and whose bad files are set aside."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        folders = {self.data_folder_in, self.data_folder_out, self.rejected_folder, self.control_folder}
        if self.store_processed:
            folders.add(self.processed_folder)
        for folder in folders:
            Path(folder).mkdir(mode=0o700, parents=True, exist_ok=True)

    @cached_property
    def rejected_folder(self) -> str:
        """Where files that are not messages go (transport option ``rejected_folder``)."""
        return self.transport_options.get("rejected_folder") or os.path.join(self.data_folder_in, "rejected")

    def _put(self, queue: str, payload: dict, **kwargs) -> None:
        """Queue ``payload``: it becomes visible to consumers only once written in full."""
        filename = f"{time.time_ns():020d}_{uuid.uuid4()}.{queue}.msg"
        try:
            write_atomically(os.path.join(self.data_folder_out, filename), str_to_bytes(dumps(payload)))
        except OSError as exc:
            raise ChannelError(f"Cannot add file {filename!r} to directory") from exc

    def _get(self, queue: str) -> dict:
        """The oldest message of ``queue``, claimed by this consumer; :class:`queue.Empty` when there is none."""
        wanted = f"{queue}.msg"
        for filename in sorted(os.listdir(self.data_folder_in)):
            if filename.partition(".")[2] != wanted:
                continue  # another queue's message, a file being written, a folder
            path = os.path.join(self.data_folder_in, filename)
            try:
                with open(path, "rb") as file:
                    payload = file.read()
            except FileNotFoundError:
                continue  # another consumer took it
            except OSError as exc:
                raise ChannelError(f"Cannot read file {path!r} from queue.") from exc
            try:
                message = loads(bytes_to_str(payload))
            except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
                self._reject(path, filename, len(payload), error)
                continue
            if self._claim(path, filename):
                return message
        raise Empty()

    def _claim(self, path: str, filename: str) -> bool:
        """Take the message file off the queue; False when another consumer took it first."""
        try:
            if self.store_processed:
                os.rename(path, os.path.join(self.processed_folder, filename))
            else:
                os.remove(path)
        except FileNotFoundError:
            return False
        return True

    def _reject(self, path: str, filename: str, size: int, error: Exception) -> None:
        try:
            os.rename(path, os.path.join(self.rejected_folder, filename))
        except FileNotFoundError:
            return  # another consumer already set it aside
        log.warning(
            "Broker: %s (%d bytes) is not a message (%s); moved to %s, delivery goes on.",
            filename,
            size,
            error,
            self.rejected_folder,
        )

    def _queue_bind(self, exchange: str, routing_key: str, pattern: str, queue: str) -> None:
        binding = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        self._update_table(exchange, lambda table: table if binding in table else [binding, *table])

    def _delete(self, queue: str, exchange: str, routing_key: str, pattern: str, *args, **kwargs) -> None:
        virtual.Channel._delete(self, queue, exchange, routing_key, pattern, *args, **kwargs)
        binding = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        self._update_table(exchange, lambda table: [entry for entry in table if entry != binding])

    def _update_table(self, exchange: str, change: Callable[[list], list]) -> None:
        """Rewrite ``exchange``'s table with ``change`` applied, one writer at a time, never seen half written."""
        table_file = self._exchange_file(exchange)
        # The table itself is replaced by each write, so writers lock a file of their own that never is.
        lock_path = table_file.with_name(table_file.name + ".lock")
        try:
            with open(lock_path, "ab", opener=lambda name, flags: os.open(name, flags, 0o600)) as lock_file:
                filesystem.lock(lock_file, filesystem.LOCK_EX)
                try:
                    table = self.get_table(exchange)
                    changed = change(table)
                    if changed != table:
                        write_atomically(table_file, str_to_bytes(dumps(changed)))
                finally:
                    filesystem.unlock(lock_file)
        except OSError as exc:
            raise ChannelError(f"Cannot update {table_file}") from exc


class Transport(filesystem.Transport):
    """The embedded broker's transport (see the module's docstring)."""

    Channel = Channel
    # Declared exchanges and queues of this transport's connections in this process (kombu keeps one per class).
    global_state = virtual.BrokerState()
