"""The launcher's supervisor (portal/supervisor.py) with cheap fake children (Python one-liners): a child that
exits is restarted with a growing, capped delay that starts over after a healthy run; stop kills whatever
ignores SIGTERM after the grace period, interrupts what runs in a session of its own below a child, and leaves
nothing running."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil
import pytest

from portal import launcher
from portal.supervisor import Backoff, Command, Supervisor
from tests.support.stack import wait_for

REPO = Path(__file__).resolve().parents[2]
BACKOFF = Backoff(first=1, factor=2, cap=8, healthy_after=30)


class Clock:
    """The supervisor's clock, moved by the test: delays pass without waiting for them."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def python(name: str, code: str) -> Command:
    return Command(name, [sys.executable, "-c", textwrap.dedent(code)], cwd=REPO)


def exits(status: int = 3) -> Command:
    return python("crasher", f"import sys; sys.exit({status})")


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def pids_in(path: Path) -> list[int]:
    """The pids a fake child wrote, one a line, once it has written them all (a last line "ready")."""
    lines = path.read_text().split() if path.exists() else []
    return [int(line) for line in lines[:-1]] if lines[-1:] == ["ready"] else []


def exit_noticed(supervisor: Supervisor, child: Command) -> None:
    wait_for(lambda: child.poll() is not None, 30, f"{child.name} to exit", interval=0.05)
    supervisor.check()


@pytest.fixture
def supervisor():
    supervisor = Supervisor(backoff=BACKOFF, grace=1, clock=Clock())
    yield supervisor
    supervisor.stop()


def delays(caplog) -> list[int]:
    return [int(d) for d in re.findall(r"restarting it in (\d+) s", caplog.text)]


def test_backoff_doubles_up_to_its_cap():
    assert [BACKOFF.delay(n) for n in range(1, 7)] == [1, 2, 4, 8, 8, 8]


def test_a_child_that_exits_is_restarted_after_a_growing_delay_and_each_exit_is_logged(supervisor, caplog):
    caplog.set_level(logging.INFO, logger="portal.supervisor")
    child = exits(3)
    supervisor.launch(child)
    pids = [child.pid]
    for delay in (1, 2, 4, 8, 8):
        exit_noticed(supervisor, child)
        supervisor.check()
        assert child.pid == pids[-1], "not restarted before its delay"
        supervisor.clock.now += delay
        supervisor.check()
        pids.append(child.pid)
    assert len(set(pids)) == 6, "a new process each time"
    assert supervisor.restarts == 5
    assert delays(caplog) == [1, 2, 4, 8, 8]
    assert caplog.text.count("crasher (pid") == 5 and "exited with status 3" in caplog.text
    assert caplog.text.count("crasher restarted (pid") == 5


def test_a_child_that_stayed_up_a_while_is_restarted_after_the_first_delay_again(supervisor, caplog):
    child = exits(0)
    supervisor.launch(child)
    for _ in range(3):
        exit_noticed(supervisor, child)
        supervisor.clock.now += 8
        supervisor.check()
    exit_noticed(supervisor, child)  # the fourth exit in a row: 8 s
    supervisor.clock.now += 8
    supervisor.check()
    supervisor.clock.now += BACKOFF.healthy_after  # up long enough before its next exit
    exit_noticed(supervisor, child)
    assert delays(caplog) == [1, 2, 4, 8, 1]


def test_a_child_killed_by_a_signal_is_logged_with_the_signal(supervisor, caplog):
    child = python("sleeper", "import time; time.sleep(600)")
    supervisor.launch(child)
    os.kill(child.pid, signal.SIGKILL)
    exit_noticed(supervisor, child)
    assert "sleeper (pid" in caplog.text and "exited with signal SIGKILL" in caplog.text


def test_what_an_exited_child_left_in_its_group_is_killed_before_its_restart(supervisor, tmp_path):
    # As a gunicorn master killed while its workers go on holding the port.
    pids = tmp_path / "pids"
    child = python(
        "web",
        f"""
        import subprocess, sys
        worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        open({str(pids)!r}, "w").write(f"{{worker.pid}}\\nready\\n")
        """,
    )
    supervisor.launch(child)
    [worker] = wait_for(lambda: pids_in(pids), 30, "the fake master's worker")
    exit_noticed(supervisor, child)
    wait_for(lambda: not running(worker), 30, "the worker left behind to be killed")


def test_stop_lets_children_that_obey_sigterm_exit_and_kills_none(supervisor):
    children = [python(f"sleeper{n}", "import time; time.sleep(600)") for n in range(3)]
    for child in children:
        supervisor.launch(child)
    assert supervisor.stop() == []
    assert [child.poll() for child in children] == [-signal.SIGTERM] * 3


def test_stop_kills_the_whole_group_of_a_child_that_ignores_sigterm(supervisor, tmp_path):
    pids = tmp_path / "pids"
    stubborn = python(
        "stubborn",
        f"""
        import signal, subprocess, sys, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
        child = subprocess.Popen([sys.executable, "-c", code])
        open({str(pids)!r}, "w").write(f"{{child.pid}}\\nready\\n")
        time.sleep(600)
        """,
    )
    polite = python("polite", "import time; time.sleep(600)")
    supervisor.launch(stubborn)
    supervisor.launch(polite)
    [grandchild] = wait_for(lambda: pids_in(pids), 30, "the stubborn child's own child")

    assert supervisor.stop() == ["stubborn"]
    assert stubborn.poll() == -signal.SIGKILL and polite.poll() == -signal.SIGTERM
    assert not running(grandchild)


def test_stop_interrupts_what_runs_in_a_session_of_its_own_below_a_child_then_kills_it(supervisor, tmp_path):
    # As Terraform below a Celery pool process: SIGINT makes it save its state and stop; one that does not is killed.
    pids, interrupted = tmp_path / "pids", tmp_path / "interrupted"
    obeys = f"""
import signal, sys, time
def stop(*_):
    open({str(interrupted)!r}, "w").write("SIGINT")
    sys.exit(0)
signal.signal(signal.SIGINT, stop)
time.sleep(600)
"""
    ignores = "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(600)"
    worker = python(
        "worker",
        f"""
        import subprocess, sys, time
        terraform = [
            subprocess.Popen([sys.executable, "-c", code], start_new_session=True) for code in ({obeys!r}, {ignores!r})
        ]
        open({str(pids)!r}, "w").write("".join(f"{{p.pid}}\\n" for p in terraform) + "ready\\n")
        time.sleep(600)
        """,
    )
    supervisor.launch(worker)
    obeying, ignoring = wait_for(lambda: pids_in(pids), 30, "the fake Terraform processes")
    assert os.getpgid(obeying) != worker.group

    assert supervisor.stop() == []
    assert interrupted.read_text() == "SIGINT"
    assert not running(obeying) and not running(ignoring)


class FakeEmulator:
    """Stands for provisioning.emulator.server.EmulatorProcess: a child process started by ``start()``."""

    endpoint = "http://127.0.0.1:4566"

    def __init__(self, state: dict) -> None:
        self.process: subprocess.Popen | None = None
        self.starts, self.state_file, self._state = 0, state.get("state_file"), state

    def start(self) -> FakeEmulator:
        self.starts += 1
        self.process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        return self

    def state(self) -> dict:
        return self._state


def emulator_restarted(supervisor: Supervisor, state: dict, capsys) -> str:
    """What the launcher says when the emulator dies and is started again."""
    emulator = FakeEmulator(state)
    child = launcher.EmulatorChild(emulator)
    supervisor.launch(child)
    assert capsys.readouterr().out == "", "the first start says nothing of a restart"
    emulator.process.kill()
    exit_noticed(supervisor, child)
    supervisor.clock.now += 1
    supervisor.check()
    assert emulator.starts == 2 and emulator.process.poll() is None
    return capsys.readouterr().out


def test_a_dead_emulator_without_a_state_file_is_started_again_and_the_lost_aws_state_said_loudly(supervisor, capsys):
    out = emulator_restarted(supervisor, {}, capsys)
    assert "AWS resource it held" in out and "is LOST" in out and FakeEmulator.endpoint in out
    assert "kept in memory only" in out


def test_a_dead_emulator_whose_state_was_restored_says_so_quietly(supervisor, capsys):
    restored = {"saved_at": "2026-12-03T11:00:00Z", "services": ["s3", "dynamodb"], "regions": ["eu-west-1"]}
    out = emulator_restarted(supervisor, {"state_file": "/data/emulator-state.bin", "restored": restored}, capsys)
    assert "AWS state restored from /data/emulator-state.bin" in out and "LOST" not in out


def test_the_launcher_restarts_a_child_and_stops_everything_on_sigterm_only(tmp_path):
    fakes = {
        "steady": [sys.executable, "-c", "import time; time.sleep(600)"],
        "crasher": [sys.executable, "-c", "import time; time.sleep(0.5); raise SystemExit(4)"],
    }
    script = (
        "import portal.launcher as launcher\n"
        "launcher.manage = lambda env, *args: None\n"
        f"launcher.commands = lambda env: {fakes!r}\n"
        "raise SystemExit(launcher.main())\n"
    )
    env = {**os.environ, "LAUNCHPAD_DATA_DIR": str(tmp_path), "AWS_ENDPOINT_URL": "http://127.0.0.1:1"}
    output = tmp_path / "launcher.log"
    with open(output, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", script], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        wait_for(lambda: output.read_text().count("crasher restarted") >= 2, 60, "the crasher's second restart")
        assert process.poll() is None, "a child's exits do not stop the launcher"
        started = [int(pid) for pid in re.findall(r"started \(pid (\d+)\)|restarted \(pid (\d+)\)", output.read_text())
                   for pid in pid if pid]  # fmt: skip
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
    text = output.read_text()
    assert "crasher (pid" in text and "exited with status 4" in text
    assert "SIGTERM: stopping everything." in text and text.rstrip().endswith("Launchpad stopped.")
    assert started and not any(running(pid) for pid in started)
