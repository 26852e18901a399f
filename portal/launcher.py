"""`make run`: migrate, create the admin, then run the emulator, a Celery worker, Celery beat and the web
server together, restart any of them that exits, and stop them all on Ctrl-C or SIGTERM (portal/supervisor.py).

Embedded defaults (SQLite, a filesystem Celery broker, the local emulator) need no server; every one of
them gives way to its environment variable (DATABASE_URL, CELERY_BROKER_URL, AWS_ENDPOINT_URL, PORT).
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

from portal.supervisor import Child, Command, Supervisor
from provisioning.emulator.server import EmulatorProcess
from provisioning.emulator.state_file import STATE_KEY_VARIABLE, derive_state_key
from provisioning.emulator.state_file import describe as describe_state

BASE_DIR = Path(__file__).resolve().parent.parent


def local_environment() -> dict[str, str]:
    """The process environment with local defaults filled in (the user's own settings win)."""
    env = dict(os.environ)
    data_dir = Path(env.setdefault("LAUNCHPAD_DATA_DIR", str(BASE_DIR / ".launchpad")))
    data_dir.mkdir(parents=True, exist_ok=True)
    key_file = data_dir / "secret_key"
    if "SECRET_KEY" not in env:
        if not key_file.exists():
            key_file.write_text(secrets.token_urlsafe(50))
            key_file.chmod(0o600)
        env["SECRET_KEY"] = key_file.read_text().strip()
    env.setdefault("PORT", "8000")
    # Plain http on 127.0.0.1: cookies cannot be "secure" there, and there is no https to redirect to.
    env.setdefault("SECURE_COOKIES", "false")
    env.setdefault("SECURE_SSL_REDIRECT", "false")
    env.setdefault("AWS_ACCESS_KEY_ID", "launchpad-local")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "launchpad-local")
    env.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
    return env


def demo_traffic_wanted(env: dict[str, str]) -> bool:
    """Demo traffic runs in emulator mode (an AWS endpoint is set) unless LAUNCHPAD_DEMO_TRAFFIC is "off"."""
    switch = env.get("LAUNCHPAD_DEMO_TRAFFIC", "on").lower()
    return bool(env.get("AWS_ENDPOINT_URL")) and switch not in {"off", "0", "false", "no"}


def emulator_state_options(env: dict[str, str]) -> dict:
    """Where the emulator keeps its AWS state across restarts (LAUNCHPAD_EMULATOR_STATE=off: nowhere).

    The key is derived from SECRET_KEY unless LAUNCHPAD_EMULATOR_STATE_KEY is set; it goes to the emulator
    only, not into the environment of the other processes.
    """
    if env.get("LAUNCHPAD_EMULATOR_STATE", "on").lower() in {"off", "0", "false", "no"}:
        return {}
    return {
        "state_file": Path(env["LAUNCHPAD_DATA_DIR"]) / "emulator-state.bin",
        "state_key": env.get(STATE_KEY_VARIABLE) or derive_state_key(env["SECRET_KEY"]),
    }


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True)


def report_emulator_restart(emulator: EmulatorProcess) -> None:
    """Say what the restarted emulator holds: its state restored from its file, or (so nobody can miss it) lost."""
    try:
        status = emulator.state()
    except OSError as error:
        status = {"state_file": str(emulator.state_file), "refused": f"its report could not be read ({error})"}
    if status.get("restored"):
        print(
            f"The AWS emulator stopped and was started again on {emulator.endpoint}. {describe_state(status)} "
            "Changes made after its last save are missing.",
            flush=True,
        )
        return
    bar = "!" * 100
    print(
        f"\n{bar}\n"
        f"!! The AWS emulator stopped and was started again on {emulator.endpoint}: every AWS resource it held\n"
        "!! (state buckets, lock tables, the environments' VPCs, services, queues...) is LOST.\n"
        f"!! {describe_state(status)}\n"
        "!! Environments marked ready may no longer exist in it: plan or re-apply them.\n"
        f"{bar}\n",
        flush=True,
    )


class EmulatorChild(Child):
    """The emulator (provisioning/emulator/server.py) under supervision: restarted through its own object."""

    name = "emulator"
    # Web and worker talk to it until they have stopped.
    stop_last = True

    def __init__(self, emulator: EmulatorProcess) -> None:
        self.emulator = emulator

    def start(self) -> None:
        """Start the emulator and wait until it answers; a restart says whether the AWS state came back."""
        restarting = self.emulator.process is not None
        self.emulator.start()
        if restarting:
            report_emulator_restart(self.emulator)

    def poll(self) -> int | None:
        return self.emulator.process.poll()

    @property
    def pid(self) -> int:
        return self.emulator.process.pid


def commands(env: dict[str, str]) -> dict[str, list[str]]:
    """The command lines of the worker, beat, the web server and (in emulator mode) the demo traffic."""
    python = sys.executable
    celery = [python, "-m", "celery", "-A", "portal"]
    argv = {
        "worker": [*celery, "worker", "--loglevel", "INFO", "--concurrency", "2"],
        "beat": [*celery, "beat", "--loglevel", "INFO"]
        + ["--schedule", str(Path(env["LAUNCHPAD_DATA_DIR"]) / "celerybeat-schedule")],
        "web": [python, "-m", "gunicorn", "portal.wsgi", "--bind", f"127.0.0.1:{env['PORT']}"]
        + ["--workers", "2", "--threads", "4", "--access-logfile", "-"],
    }
    if demo_traffic_wanted(env):
        # Made-up metrics, alarm states and deployments for the dashboards (manage.py demo_traffic).
        argv["demo"] = [python, "manage.py", "demo_traffic"]
    return argv


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s launcher: %(message)s", stream=sys.stdout)
    env = local_environment()
    supervisor = Supervisor(grace=float(env.get("LAUNCHPAD_STOP_GRACE_SECONDS", "20")))
    # The signals received; the handler only notes them (printing from it could break a print under way).
    received: list[str] = []

    def stop(signum: int, frame: object) -> None:
        received.append(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        if not env.get("AWS_ENDPOINT_URL"):
            port = int(env.get("EMULATOR_PORT", "4566"))
            log_path = Path(env["LAUNCHPAD_DATA_DIR"]) / "emulator.log"
            emulator = EmulatorProcess(port=port, log_path=log_path, **emulator_state_options(env))
            supervisor.launch(EmulatorChild(emulator))
            env["AWS_ENDPOINT_URL"] = emulator.endpoint
            print(f"Emulator (patched moto) on {emulator.endpoint}. {emulator.state_summary()}", flush=True)
        else:
            print(f"Using the AWS endpoint {env['AWS_ENDPOINT_URL']} (no emulator started).", flush=True)

        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "collectstatic", "--noinput", "-v", "0")
        manage(env, "ensure_admin")

        argv = commands(env)
        if "demo" in argv:
            print(
                "Demo traffic on: the dashboards show made-up data (LAUNCHPAD_DEMO_TRAFFIC=off turns it off).",
                flush=True,
            )
        for name, command in argv.items():
            if not received:
                supervisor.launch(Command(name, command, cwd=BASE_DIR, env=env))
        print(f"Launchpad on http://127.0.0.1:{env['PORT']}/  (Ctrl-C stops everything)", flush=True)
        supervisor.run(lambda: bool(received))
    finally:
        if received:
            print(f"{received[0]}: stopping everything.", flush=True)
        killed = supervisor.stop()
        late = f" ({', '.join(killed)} killed after the grace period)" if killed else ""
        print(f"Launchpad stopped{late}.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
