"""`make run`: migrate, create the admin, then run the emulator, a Celery worker, Celery beat and the web
server together, and stop them all on Ctrl-C.

Embedded defaults (SQLite, a filesystem Celery broker, the local emulator) need no server; every one of
them gives way to its environment variable (DATABASE_URL, CELERY_BROKER_URL, AWS_ENDPOINT_URL, PORT).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from provisioning.emulator.server import EmulatorProcess
from provisioning.emulator.state_file import STATE_KEY_VARIABLE, derive_state_key

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


def main() -> int:
    env = local_environment()
    children: list[tuple[str, subprocess.Popen]] = []
    emulator = None
    if not env.get("AWS_ENDPOINT_URL"):
        port = int(env.get("EMULATOR_PORT", "4566"))
        log_path = Path(env["LAUNCHPAD_DATA_DIR"]) / "emulator.log"
        emulator = EmulatorProcess(port=port, log_path=log_path, **emulator_state_options(env)).start()
        env["AWS_ENDPOINT_URL"] = emulator.endpoint
        print(f"Emulator (patched moto) on {emulator.endpoint}. {emulator.state_summary()}", flush=True)
    else:
        print(f"Using the AWS endpoint {env['AWS_ENDPOINT_URL']} (no emulator started).", flush=True)

    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "collectstatic", "--noinput", "-v", "0")
    manage(env, "ensure_admin")

    python = sys.executable
    commands = {
        "worker": [python, "-m", "celery", "-A", "portal", "worker", "--loglevel", "INFO", "--concurrency", "2"],
        "beat": [
            python,
            "-m",
            "celery",
            "-A",
            "portal",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(Path(env["LAUNCHPAD_DATA_DIR"]) / "celerybeat-schedule"),
        ],
        "web": [
            python,
            "-m",
            "gunicorn",
            "portal.wsgi",
            "--bind",
            f"127.0.0.1:{env['PORT']}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--access-logfile",
            "-",
        ],
    }
    if demo_traffic_wanted(env):
        # Made-up metrics, alarm states and deployments for the dashboards (manage.py demo_traffic).
        commands["demo"] = [python, "manage.py", "demo_traffic"]
        print(
            "Demo traffic on: the dashboards show made-up data (LAUNCHPAD_DEMO_TRAFFIC=off turns it off).", flush=True
        )
    for name, argv in commands.items():
        children.append((name, subprocess.Popen(argv, cwd=BASE_DIR, env=env)))
    print(f"Launchpad on http://127.0.0.1:{env['PORT']}/  (Ctrl-C stops everything)", flush=True)

    stopping = False

    def stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    try:
        while not stopping:
            for name, child in children:
                if child.poll() is not None:
                    print(f"{name} exited with status {child.returncode}; stopping everything.", flush=True)
                    stopping, exit_code = True, 1
            time.sleep(0.5)
    finally:
        for _, child in children:
            if child.poll() is None:
                child.terminate()
        for _, child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
        if emulator is not None:
            emulator.stop()
        print("Launchpad stopped.", flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
