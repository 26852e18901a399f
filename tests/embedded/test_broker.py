"""The embedded broker (portal/broker.py): a message is delivered whole or not at all, a bad file never stops a
consumer, messages outlive the process that queued them, and taken messages leave nothing behind."""

from __future__ import annotations

import importlib
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from kombu import Connection, Exchange, Queue

from portal import broker
from provisioning import files

REPO = Path(__file__).resolve().parents[2]
OURS = "portal.broker:Transport"
STOCK = "filesystem"  # kombu's own filesystem transport


def options(folder: Path) -> dict[str, str]:
    return {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "control_folder": str(folder / "control"),
        "rejected_folder": str(folder / "rejected"),
    }


def connect(folder: Path, transport: str = OURS) -> Connection:
    """A connection of its own, as another process (web, beat, worker) would have."""
    for name in ("queue", "control", "rejected"):
        (folder / name).mkdir(exist_ok=True)  # kombu's stock transport needs them made
    return Connection("filesystem://", transport=transport, transport_options=options(folder))


def messages(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder / "queue") if name.endswith(".msg"))


@pytest.fixture(autouse=True)
def system_tempdir(tmp_path, monkeypatch) -> Path:
    """The system's temporary folder, watched: nothing of the broker may land there."""
    folder = tmp_path / "system-tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture(autouse=True)
def fresh_broker_state():
    """kombu remembers the bindings a process made, per transport class; each test has folders of its own."""
    yield
    for transport in (broker.Transport, importlib.import_module("kombu.transport.filesystem").Transport):
        transport.global_state.clear()


class PausingFile:
    """A file being written that lets ``pause`` run right after it is opened and halfway through each write.

    ``pause`` is what other processes do meanwhile: consumers list and read the folder.
    """

    def __init__(self, file, pause) -> None:
        self.file, self.pause = file, pause
        pause()

    def write(self, data: bytes) -> int:
        half = len(data) // 2
        self.file.write(data[:half])
        self.file.flush()
        self.pause()
        return half + self.file.write(data[half:])

    def __getattr__(self, name: str):
        return getattr(self.file, name)

    def __enter__(self) -> PausingFile:
        return self

    def __exit__(self, *exc) -> None:
        self.file.close()


def pause_writes(monkeypatch, transport: str, pause) -> None:
    """Make every file the transport opens for writing pause as :class:`PausingFile` does (ours writes through
    provisioning.files)."""
    modules = [files, broker] if transport == OURS else [importlib.import_module("kombu.transport.filesystem")]

    def opening(file, mode="r", *args, **kwargs):
        opened = open(file, mode, *args, **kwargs)  # noqa: SIM115  (handed to the transport, which closes it)
        return PausingFile(opened, pause) if set(mode) & set("wxa+") else opened

    for module in modules:
        monkeypatch.setattr(module, "open", opening, raising=False)


@pytest.mark.parametrize(
    "transport",
    [
        OURS,
        pytest.param(
            STOCK,
            marks=pytest.mark.xfail(
                strict=True, raises=ValueError, reason="kombu #1551: the consumer reads a message being written"
            ),
        ),
    ],
)
def test_a_consumer_never_gets_a_message_its_producer_is_still_writing(tmp_path, monkeypatch, transport):
    with connect(tmp_path, transport) as producer, connect(tmp_path, transport) as consumer:
        inbox, outbox = consumer.SimpleQueue("jobs"), producer.SimpleQueue("jobs")
        seen = []

        def consumer_polls() -> None:
            try:
                message = inbox.get_nowait()
            except inbox.Empty:
                seen.append(None)
            else:
                seen.append(message.payload)
                message.ack()

        pause_writes(monkeypatch, transport, consumer_polls)
        outbox.put({"run": 7})
        monkeypatch.undo()

        assert seen and set(map(str, seen)) == {"None"}, "nothing to take while the message was being written"
        message = inbox.get(timeout=1)
        assert message.payload == {"run": 7}
        message.ack()


def test_an_exchange_table_being_written_is_never_read_half_written(tmp_path, monkeypatch):
    with connect(tmp_path) as writer, connect(tmp_path) as reader:
        tables = []
        pause_writes(monkeypatch, OURS, lambda: tables.append(reader.default_channel.get_table("jobs")))
        exchange = Exchange("jobs", "direct")
        for name in ("jobs", "other"):  # declaring a queue binds it: the exchange's table is written
            Queue(name, exchange, routing_key=name)(writer.default_channel).declare()
        monkeypatch.undo()

    first, both = [("jobs", "", "jobs")], [("other", "", "other"), ("jobs", "", "jobs")]
    assert tables and all(table in ([], first, both) for table in tables), tables
    assert [tuple(entry) for entry in reader.default_channel.get_table("jobs")] == both


def test_a_file_that_is_no_message_is_set_aside_with_a_warning_and_the_next_message_delivered(tmp_path, caplog):
    with connect(tmp_path) as connection:
        queue = connection.SimpleQueue("jobs")
        # As a writer that died mid-file (or kombu's own transport, caught mid-write) leaves them, oldest first.
        (tmp_path / "queue" / "00000000000000000001_empty.jobs.msg").write_bytes(b"")
        (tmp_path / "queue" / "00000000000000000002_truncated.jobs.msg").write_bytes(b'{"body": "eyJydW4iOi')
        (tmp_path / "queue" / "00000000000000000003_binary.jobs.msg").write_bytes(b"\xff\xfe\x00")
        queue.put({"run": 8})

        with caplog.at_level(logging.WARNING, logger="portal.broker"):
            message = queue.get(timeout=1)
        assert message.payload == {"run": 8}
        message.ack()
        with pytest.raises(queue.Empty):
            queue.get_nowait()

    assert sorted(os.listdir(tmp_path / "rejected")) == [
        "00000000000000000001_empty.jobs.msg",
        "00000000000000000002_truncated.jobs.msg",
        "00000000000000000003_binary.jobs.msg",
    ]
    warned = [record.getMessage() for record in caplog.records if record.name == "portal.broker"]
    assert len(warned) == 3 and all("is not a message" in line for line in warned), warned
    assert "00000000000000000001_empty.jobs.msg (0 bytes)" in warned[0]
    assert messages(tmp_path) == []


def test_messages_queued_are_delivered_to_a_new_process_in_the_order_sent(tmp_path):
    with connect(tmp_path) as connection:
        queue = connection.SimpleQueue("jobs")
        for run in range(1, 4):
            queue.put({"run": run})
        # Taken but not acknowledged when its consumer stops: back on the queue, as a warm shutdown does.
        unacked = queue.get(timeout=1)
        assert unacked.payload == {"run": 1}
    assert len(messages(tmp_path)) == 3

    consume = (
        "import sys; from kombu import Connection, Exchange, Queue\n"
        f"with Connection('filesystem://', transport={OURS!r}, transport_options={options(tmp_path)!r}) as c:\n"
        "    q = c.SimpleQueue('jobs')\n"
        "    for _ in range(3):\n"
        "        m = q.get(timeout=5); print(m.payload['run']); m.ack()\n"
    )
    done = subprocess.run([sys.executable, "-c", consume], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2", "3", "1"]
    assert messages(tmp_path) == []


def test_taken_messages_are_owner_only_and_leave_no_file_anywhere(tmp_path, system_tempdir):
    with connect(tmp_path) as connection:
        queue = connection.SimpleQueue("jobs")
        queue.put({"run": 9})
        [queued] = messages(tmp_path)
        assert (tmp_path / "queue" / queued).stat().st_mode & 0o777 == 0o600
        assert sorted(os.listdir(tmp_path / "queue")) == [queued], "no temporary file left beside it"
        queue.get(timeout=1).ack()

    assert messages(tmp_path) == []
    assert list(system_tempdir.iterdir()) == []
    assert list((tmp_path / "rejected").iterdir()) == []


def test_of_two_consumers_reading_one_message_only_one_gets_it(tmp_path, monkeypatch):
    with connect(tmp_path) as first, connect(tmp_path) as second:
        first_queue, second_queue = first.SimpleQueue("jobs"), second.SimpleQueue("jobs")
        first_queue.put({"run": 10})
        got = []
        channel = first_queue.consumer.channel
        claim = channel._claim

        def second_takes_it_first(path: str, filename: str) -> bool:
            # Both have read the file; the second consumer claims it before the first does.
            message = second_queue.get_nowait()
            got.append(("second", message.payload))
            message.ack()
            return claim(path, filename)

        monkeypatch.setattr(channel, "_claim", second_takes_it_first)
        with pytest.raises(first_queue.Empty):
            first_queue.get_nowait()
        assert got == [("second", {"run": 10})]


@pytest.mark.parametrize(
    ("url", "module"),
    [
        (None, "portal.broker"),
        ("filesystem://", "portal.broker"),
        ("redis://127.0.0.1:6379/0", "kombu.transport.redis"),
    ],
)
def test_the_broker_url_chooses_the_embedded_broker_or_a_server(tmp_path, url, module):
    env = {key: value for key, value in os.environ.items() if key != "CELERY_BROKER_URL"}
    env.update(DJANGO_SETTINGS_MODULE="portal.test_settings", LAUNCHPAD_DATA_DIR=str(tmp_path))
    if url:
        env["CELERY_BROKER_URL"] = url
    script = "from portal.celery import app; print(type(app.connection_for_write().transport).__module__)"
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == module
