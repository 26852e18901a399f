"""Start the patched moto server, in this process (:func:`serve`) or as a child (:class:`EmulatorProcess`)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from provisioning.emulator import state_file as state_file_module

# Attaching AWS managed policies (AmazonECSTaskExecutionRolePolicy) needs them loaded, as on AWS.
EMULATOR_ENVIRONMENT = {"MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}


class EmulatorError(RuntimeError):
    """The emulator could not be started or did not answer."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def serve(
    host: str = "127.0.0.1",
    port: int = 4566,
    state_file: Path | None = None,
    save_interval: float | None = None,
    state_key: str | None = None,
) -> None:
    """Apply the fidelity patches and serve moto until SIGTERM or SIGINT (the ``python -m`` entry point).

    With ``state_file`` the AWS state is restored from it at start and saved to it after changes (within
    ``save_interval`` seconds) and at stop, encrypted with ``state_key`` (default: the environment's
    LAUNCHPAD_EMULATOR_STATE_KEY); see :mod:`provisioning.emulator.persistence`.
    """
    os.environ.update(EMULATOR_ENVIRONMENT)
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    from provisioning.emulator.patches import apply_all
    from provisioning.emulator.persistence import DEFAULT_SAVE_INTERVAL, PersistentState

    patches = apply_all()
    state = None
    if state_file is not None:
        key = state_key or os.environ.get(state_file_module.STATE_KEY_VARIABLE)
        state = PersistentState(state_file, key, save_interval or DEFAULT_SAVE_INTERVAL)
        state.restore()

    class Server(ThreadedMotoServer):
        """moto's threaded server (moto 5.2.5's _server_entry), its application wrapped by the state keeper.

        A port that cannot be bound is an error: moto's own server thread dies and start() waits forever.
        """

        bind_error: str | None = None

        def _server_entry(self) -> None:
            app = DomainDispatcherApplication(create_backend_app)
            wrapped = state.wsgi(app) if state is not None else app
            try:
                self._server = make_server(
                    self._ip_address, self._port, wrapped, True, request_handler=MotoRequestHandler
                )
            except (OSError, SystemExit) as error:
                # werkzeug answers a port in use with sys.exit(1), which only ends this thread.
                self.bind_error = error.strerror if isinstance(error, OSError) else "address already in use"
                self._server_ready_event.set()
                return
            self._server_ready_event.set()
            self._server.serve_forever()

    server = Server(ip_address=host, port=port, verbose=False)
    server.start()
    if server.bind_error is not None:
        raise EmulatorError(f"The emulator cannot listen on {host}:{port}: {server.bind_error}.")
    print(f"Launchpad AWS emulator on http://{host}:{port} ({len(patches)} fidelity patches)", flush=True)
    if state is not None:
        state.start()
    stopping = {"now": False}

    def stop(signum: int, frame: object) -> None:
        stopping["now"] = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping["now"]:
        time.sleep(0.2)
    server.stop()
    if state is not None and not state.stop():
        raise EmulatorError(f"The last changes to the AWS state could not be saved to {state.path} (see above).")


def wait_until_ready(endpoint: str, timeout: float = 30.0, process: subprocess.Popen | None = None) -> None:
    """Block until the emulator at ``endpoint`` answers, or raise :class:`EmulatorError`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise EmulatorError(f"The emulator exited with status {process.returncode} before it was ready.")
        try:
            # moto's config, not /moto-api/data.json: that one serialises every object the emulator holds, which
            # takes minutes once a saved state is restored, and each retry would pile up another.
            with urllib.request.urlopen(f"{endpoint}/moto-api/config", timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise EmulatorError(f"The emulator at {endpoint} did not answer within {timeout:.0f} s.")


class EmulatorProcess:
    """The patched emulator as a child process on its own port; a context manager.

    With ``state_file`` its AWS state survives a restart (see :func:`serve`); ``state_key`` (a Fernet key)
    reaches the child through its environment, never its command line.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int | None = None,
        log_path: Path | None = None,
        state_file: Path | None = None,
        state_key: str | None = None,
        save_interval: float | None = None,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.log_path = log_path
        self.state_file = state_file
        self.state_key = state_key
        self.save_interval = save_interval
        self.process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 60.0) -> EmulatorProcess:
        """Start the child and wait until it answers (with a state file: once the state is restored)."""
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        env = {**os.environ, **EMULATOR_ENVIRONMENT}
        argv = [sys.executable, "-m", "provisioning.emulator", "--host", self.host, "--port", str(self.port)]
        if self.state_file is not None:
            argv += ["--state", str(self.state_file)]
            if self.save_interval is not None:
                argv += ["--save-interval", str(self.save_interval)]
            if self.state_key is not None:
                env[state_file_module.STATE_KEY_VARIABLE] = self.state_key
        self.process = subprocess.Popen(
            argv,
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

    def state(self) -> dict:
        """The state file's report: restored or refused at start, saves, unsaved changes (no state file: {})."""
        if self.state_file is None:
            return {}
        from provisioning.emulator.persistence import STATUS_PATH

        with urllib.request.urlopen(f"{self.endpoint}{STATUS_PATH}", timeout=10) as response:
            return json.load(response)

    def state_summary(self) -> str:
        """One line on the AWS state at start: restored (what, saved when), refused and why, or in memory only."""
        return state_file_module.describe(self.state())

    def reset(self) -> None:
        """Forget every resource (moto's reset API): a clean account."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def stop(self, timeout: float | None = None) -> None:
        """Stop the child: SIGTERM, then SIGKILL after ``timeout`` seconds (10; 60 with a state file, to save it)."""
        if self.process is None or self.process.poll() is not None:
            return
        if timeout is None:
            timeout = 10.0 if self.state_file is None else 60.0
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
