"""Start the patched moto server, in this process (:func:`serve`) or as a child (:class:`EmulatorProcess`)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

# Attaching AWS managed policies (AmazonECSTaskExecutionRolePolicy) needs them loaded, as on AWS.
EMULATOR_ENVIRONMENT = {"MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}


class EmulatorError(RuntimeError):
    """The emulator could not be started or did not answer."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def serve(host: str = "127.0.0.1", port: int = 4566) -> None:
    """Apply the fidelity patches and serve moto until interrupted (the ``python -m`` entry point)."""
    os.environ.update(EMULATOR_ENVIRONMENT)
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    from provisioning.emulator.patches import apply_all

    patches = apply_all()
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    print(f"Launchpad AWS emulator on http://{host}:{port} ({len(patches)} fidelity patches)", flush=True)
    stopping = {"now": False}

    def stop(signum: int, frame: object) -> None:
        stopping["now"] = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping["now"]:
        time.sleep(0.2)
    server.stop()


def wait_until_ready(endpoint: str, timeout: float = 30.0, process: subprocess.Popen | None = None) -> None:
    """Block until the emulator at ``endpoint`` answers, or raise :class:`EmulatorError`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise EmulatorError(f"The emulator exited with status {process.returncode} before it was ready.")
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise EmulatorError(f"The emulator at {endpoint} did not answer within {timeout:.0f} s.")


class EmulatorProcess:
    """The patched emulator as a child process on its own port; a context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None, log_path: Path | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 60.0) -> EmulatorProcess:
        """Start the child and wait until it answers."""
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        env = {**os.environ, **EMULATOR_ENVIRONMENT}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "provisioning.emulator", "--host", self.host, "--port", str(self.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=Path(__file__).resolve().parents[2],
        )
        if log is not subprocess.DEVNULL:
            log.close()
        try:
            wait_until_ready(self.endpoint, timeout=timeout, process=self.process)
        except EmulatorError:
            self.stop()
            raise
        return self

    def reset(self) -> None:
        """Forget every resource (moto's reset API): a clean account."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def stop(self) -> None:
        """Stop the child (SIGTERM, then SIGKILL after 10 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
