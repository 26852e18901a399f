"""A throwaway Launchpad for benchmarks: its own emulator, database, broker, Celery worker, gunicorn and API token.

    from benchmarks.harness import Launchpad, cleanup_on_signals

    cleanup_on_signals()
    with Launchpad(Path(tmp), concurrency=2) as launchpad:
        status, body = launchpad.api("POST", "/api/v1/environments/", {...})
        launchpad.worker_pid                      # the Celery worker's main process (for memory sampling)

Everything lives under ``scratch`` (SQLite database, filesystem broker, run workspaces, logs unless
``log_dir`` says otherwise). ``DATABASE_URL`` (PostgreSQL) and ``CELERY_BROKER_URL`` are honoured: the
harness then makes a fresh database beside the one named (dropped at the end) and empties the broker's
queue first. No beat is started: nothing scheduled runs during a measurement.

Every process started here (and whatever they start: Terraform runs in its own session, so it is not in
its worker's process group) is stopped by :meth:`Launchpad.stop`, which the ``with`` block calls even on
failure; :func:`cleanup_on_signals` turns SIGTERM and SIGHUP into the same exit path as Ctrl-C, and this
process adopts orphaned descendants (Linux's child subreaper) so none is missed.

Also here: :func:`process_tree`, :func:`cpu_seconds` and :class:`MemorySampler` (RSS and PSS of a process tree),
all from /proc.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# As tests/conftest.py: LAUNCHPAD_ARTIFACTS moves the artifacts folder.
ARTIFACTS = Path(os.environ.get("LAUNCHPAD_ARTIFACTS") or REPO / "artifacts")
REGION = "eu-west-1"
# Run statuses after which an environment will not become ready without someone acting.
STUCK = ("failed", "cancelled", "rejected", "awaiting_approval")
BENCH_USER = "benchmark"


# --- processes ---------------------------------------------------------------------------------
def cleanup_on_signals() -> None:
    """SIGTERM and SIGHUP end this process like Ctrl-C (KeyboardInterrupt), so ``with`` blocks clean up.

    Also makes this process the subreaper of its descendants: Terraform left behind by a stopped worker is
    re-parented here, where :meth:`Launchpad.stop` finds and stops it.
    """

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)
    # Not Linux: orphans go to init; stop() still stops the process trees it started.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process (from /proc)."""
    parents = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat") as handle:
                    stat = handle.read()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def process_tree(root: int, parents: dict[int, int] | None = None) -> list[int]:
    """``root`` and every descendant of it, alive now (``parents``: a snapshot of :func:`_parents`)."""
    children: dict[int, list[int]] = {}
    for pid, parent in (parents or _parents()).items():
        children.setdefault(parent, []).append(pid)
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return [pid for pid in tree if os.path.exists(f"/proc/{pid}")]


def _signal_all(pids: list[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)


def _reap() -> None:
    """Collect adopted orphans that have exited (this process is their subreaper)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def stop_tree(process: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM ``process``, then SIGKILL it and every descendant still alive after ``grace`` seconds."""
    if process.poll() is not None:
        return
    tree = process_tree(process.pid)
    process.terminate()  # the process's own shutdown (celery: its pool; gunicorn: its workers)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace)
    _signal_all(list({*tree, *process_tree(process.pid)}), signal.SIGKILL)
    process.wait()


def process_kind(pid: int) -> str:
    """``terraform``, ``provider`` (a Terraform plugin) or ``python`` (anything else: the worker itself)."""
    try:
        with open(f"/proc/{pid}/comm") as handle:
            comm = handle.read().strip()
    except OSError:
        return "gone"
    if comm == "terraform":
        return "terraform"
    if comm.startswith("terraform-prov"):
        return "provider"
    return "python"


def cpu_seconds(root: int) -> tuple[float, float]:
    """CPU time used so far by ``root``'s process tree: (its live processes' own, their ended children's).

    The second part is the children that ended and were waited for: for a Celery worker, the Terraform commands
    its pool processes ran and the providers those started. Live Terraform processes count in the first part.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    own = children = 0
    for pid in process_tree(root):
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        own += int(fields[11]) + int(fields[12])  # utime, stime
        children += int(fields[13]) + int(fields[14])  # cutime, cstime
    return own / ticks, children / ticks


def memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of ``pid`` in KiB; PSS shares each shared page among the processes mapping it."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


@dataclass
class MemorySample:
    at: float
    rss: dict[str, int] = field(default_factory=dict)  # KiB per process kind
    pss: dict[str, int] = field(default_factory=dict)
    terraform_processes: int = 0  # Terraform commands running (one per run at a time)

    @property
    def rss_total(self) -> int:
        return sum(self.rss.values())

    @property
    def pss_total(self) -> int:
        return sum(self.pss.values())


class MemorySampler:
    """Samples the RSS and PSS of ``root``'s process tree every ``interval`` seconds, by process kind."""

    def __init__(self, root: int, interval: float = 0.5) -> None:
        self.root, self.interval = root, interval
        self.samples: list[MemorySample] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def sample(self) -> MemorySample:
        found = MemorySample(at=time.monotonic())
        parents = _parents()
        tree = process_tree(self.root, parents)
        kinds = {pid: process_kind(pid) for pid in tree}
        for pid, kind in kinds.items():
            if kind == "gone":
                continue
            rss, pss = memory_kib(pid)
            found.rss[kind] = found.rss.get(kind, 0) + rss
            found.pss[kind] = found.pss.get(kind, 0) + pss
            # Terraform re-executes itself under a panic-catching parent (panicwrap): count the outer one only.
            found.terraform_processes += kind == "terraform" and kinds.get(parents.get(pid, 0)) != "terraform"
        return found

    def _loop(self) -> None:
        while not self._stopped.is_set():
            self.samples.append(self.sample())
            self._stopped.wait(self.interval)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        self._thread.join()


# --- the stack -----------------------------------------------------------------------------------
class Launchpad:
    """A throwaway Launchpad: emulator, fresh database, one Celery worker (``concurrency`` pool processes),
    gunicorn (``web_workers`` x ``web_threads``) and a user with an API token (``token``)."""

    def __init__(
        self,
        scratch: Path,
        *,
        concurrency: int = 1,
        web_workers: int = 2,
        web_threads: int = 4,
        log_dir: Path | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.scratch = Path(scratch)
        self.concurrency, self.web_workers, self.web_threads = concurrency, web_workers, web_threads
        self.log_dir = Path(log_dir or self.scratch / "logs")
        self.extra_env = dict(extra_env or {})
        self.emulator = None
        self.worker: subprocess.Popen | None = None
        self.web: subprocess.Popen | None = None
        self.token = ""
        self.base_url = ""
        self.env: dict[str, str] = {}
        self._drop_database = None

    # -- lifecycle --
    def start(self) -> Launchpad:
        from provisioning.emulator import EmulatorProcess

        data_dir = self.scratch / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.emulator = EmulatorProcess(log_path=self.log_dir / "emulator.log").start()
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "LAUNCHPAD_DATA_DIR": str(data_dir),
            "AWS_ENDPOINT_URL": self.emulator.endpoint,
            "AWS_ACCESS_KEY_ID": "benchmark",
            "AWS_SECRET_ACCESS_KEY": "benchmark",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            # Plain http on 127.0.0.1, as `make run`.
            "SECURE_COOKIES": "false",
            "SECURE_SSL_REDIRECT": "false",
            "LAUNCHPAD_DEMO_TRAFFIC": "off",
            **self.extra_env,
        }
        if os.environ.get("DATABASE_URL"):
            self.env["DATABASE_URL"], self._drop_database = _fresh_database(os.environ["DATABASE_URL"])
        self.manage("migrate", "--noinput", "-v", "0")
        self.token = (
            self.manage(
                "shell",
                "-c",
                "from django.contrib.auth import get_user_model; from portal.accounts.models import ApiToken; "
                f"user = get_user_model().objects.create_user({BENCH_USER!r}, password={secrets.token_urlsafe(16)!r}); "
                "print(ApiToken.issue(user, 'benchmark')[1])",
            )
            .strip()
            .splitlines()[-1]
        )
        if os.environ.get("CELERY_BROKER_URL"):
            self.manage_celery("purge", "-f")
        self.worker = self._spawn(
            "worker",
            [sys.executable, "-m", "celery", "-A", "portal", "worker", "--loglevel", "INFO"]
            + ["--concurrency", str(self.concurrency), "--without-gossip", "--without-mingle", "-n", "bench@%h"],
        )
        from provisioning.emulator.server import free_port

        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        self.web = self._spawn(
            "web",
            [sys.executable, "-m", "gunicorn", "portal.wsgi", "--bind", f"127.0.0.1:{port}"]
            + ["--workers", str(self.web_workers), "--threads", str(self.web_threads)],
        )
        self._wait_until_serving()
        return self

    def stop(self) -> None:
        """Stop everything started here, and anything those processes left behind (Terraform)."""
        for process in (self.web, self.worker):
            if process is not None:
                stop_tree(process)
        if self.emulator is not None:
            self.emulator.stop()
        # Adopted orphans (see cleanup_on_signals): nothing of ours may outlive the benchmark.
        _signal_all([pid for pid in process_tree(os.getpid()) if pid != os.getpid()], signal.SIGKILL)
        _reap()
        if self._drop_database is not None:
            self._drop_database()
            self._drop_database = None

    def __enter__(self) -> Launchpad:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers --
    def manage(self, *args: str) -> str:
        """``manage.py args`` against this Launchpad's database; its stdout."""
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=REPO, env=self.env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args[:1])} failed: {done.stderr[-2000:]}")
        return done.stdout

    def manage_celery(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "celery", "-A", "portal", *args], cwd=REPO, env=self.env, capture_output=True
        )

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        with open(self.log_dir / f"{name}.log", "ab") as log:
            return subprocess.Popen(
                argv, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def _wait_until_serving(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        worker_log = self.log_dir / "worker.log"
        worker_ready = web_ready = False
        while time.monotonic() < deadline:
            for name, process in (("worker", self.worker), ("web", self.web)):
                if process.poll() is not None:
                    raise RuntimeError(f"the {name} exited at start; see {self.log_dir / (name + '.log')}")
            worker_ready = worker_ready or (worker_log.exists() and " ready." in worker_log.read_text(errors="replace"))
            if not web_ready:
                with contextlib.suppress(OSError):
                    web_ready = self.api("GET", "/api/v1/blueprints/")[0] == 200
            if worker_ready and web_ready:
                return
            time.sleep(0.2)
        raise RuntimeError(f"Launchpad did not start within {timeout:.0f} s; see {self.log_dir}")

    def state_store(self):
        """The region's Terraform state store in this emulator, made from here if missing (as a worker would)."""
        from provisioning import engine, toolchain

        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            os.environ.setdefault(key, self.env[key])
        # The stack's worker names the store from its settings; so does this.
        prefix = self.env.get("LAUNCHPAD_NAME_PREFIX", "spotmusic")
        return engine.ensure_state_store(
            REGION, self.emulator.endpoint, toolchain.prepare(), self.scratch / "bootstrap", lambda *_: None, prefix
        )

    @property
    def worker_pid(self) -> int:
        return self.worker.pid

    def api(self, method: str, path: str, body: dict | None = None, timeout: float = 60.0) -> tuple[int, object]:
        """One HTTP request to the API with the token; (status, decoded JSON body or None)."""
        request = urllib.request.Request(
            self.base_url + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Token {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    def request_sandbox(self, name: str, vpc_cidr: str, blueprint: str = "sandbox") -> float:
        """POST a dev environment of ``blueprint`` (planned and applied at once); return when the request was sent."""
        sent = time.time()
        status, body = self.api(
            "POST",
            "/api/v1/environments/",
            {"name": name, "blueprint": blueprint, "tier": "dev", "variables": {"vpc_cidr": vpc_cidr}},
        )
        if status != 201:
            raise RuntimeError(f"creating {name} answered {status}: {body}")
        return sent

    def wait_until_settled(self, names: list[str], timeout: float = 900.0, interval: float = 0.1) -> dict[str, float]:
        """Poll the environments (one list request) every ``interval`` s until each is ready; when each was seen.

        Wall-clock times. Raises RuntimeError when one fails, or its run ends or stops short of ready (failed,
        cancelled, rejected, awaiting an approval nobody here gives), with the run's error.
        """
        seen: dict[str, float] = {}
        wanted = set(names)
        deadline = time.monotonic() + timeout
        while len(seen) < len(wanted):
            if time.monotonic() > deadline:
                raise RuntimeError(f"not ready after {timeout:.0f} s: {sorted(wanted - set(seen))}")
            status, body = self.api("GET", "/api/v1/environments/?limit=1000")
            now = time.time()
            for environment in body["results"] if status == 200 else []:
                name = environment["name"]
                if name not in wanted or name in seen:
                    continue
                if environment["status"] == "ready":
                    seen[name] = now
                elif environment["status"] == "failed" or (environment.get("last_run") or {}).get("status") in STUCK:
                    # A run that failed before the apply leaves the environment "new": its run says so.
                    run = self.last_run(name)
                    raise RuntimeError(f"{name}: run {run.get('status')}: {run.get('error')}; see {self.log_dir}")
            time.sleep(interval)
        return seen

    def last_run(self, name: str) -> dict:
        status, body = self.api("GET", f"/api/v1/environments/{name}/runs/")
        runs = body["results"] if isinstance(body, dict) and "results" in body else body
        return runs[0]

    def run_events(self, run_id: int) -> list[dict]:
        events, after = [], 0
        while True:
            status, body = self.api("GET", f"/api/v1/runs/{run_id}/events/?after={after}&limit=1000")
            page = body["results"] if isinstance(body, dict) and "results" in body else body
            if not page:
                return events
            events.extend(page)
            after = page[-1]["seq"]


def _fresh_database(url: str):
    """A new PostgreSQL database beside the one ``url`` names; (its URL, a function that drops it)."""
    import dj_database_url
    import psycopg

    settings = dj_database_url.parse(url)
    if "postgresql" not in settings["ENGINE"]:
        raise RuntimeError("DATABASE_URL must be PostgreSQL (unset it for a throwaway SQLite database).")
    name = f"{settings['NAME']}_bench_{os.getpid()}_{secrets.token_hex(3)}"
    admin = {
        "host": settings["HOST"] or "127.0.0.1",
        "port": settings["PORT"] or 5432,
        "user": settings["USER"],
        "password": settings["PASSWORD"] or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**admin) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(**admin) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    base, _, query = url.partition("?")
    return base.rsplit("/", 1)[0] + "/" + name + (f"?{query}" if query else ""), drop
