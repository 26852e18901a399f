"""Drive Terraform in one working directory: init, plan, apply, destroy, show, streaming its output.

Command lines are built by ``python-terraform``; the process itself is run here so that every line
Terraform prints reaches the caller while Terraform runs (``on_line``), and so that it runs with the
toolchain's environment (offline CLI config) rather than whatever the caller's process has.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from python_terraform import IsFlagged, Terraform

from provisioning.aws import CONNECTION_ERRORS
from provisioning.toolchain import Toolchain


class _LineFollower:
    """Reads whole lines a file gains while another process writes it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.partial = b""

    def read(self, final: bool = False) -> list[str]:
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            chunk = handle.read()
        self.offset += len(chunk)
        data = self.partial + chunk
        *lines, self.partial = data.split(b"\n")
        if final and self.partial:
            lines.append(self.partial)
            self.partial = b""
        return [line.decode("utf-8", errors="replace").rstrip("\r") for line in lines]


LineSink = Callable[[str, str], None]
"""Called with (stream, line) for each line Terraform prints; stream is "stdout" or "stderr"."""


# Where Terraform writes the state it could not save to the backend (AWS unreachable at the end of an apply).
ERRORED_STATE = "errored.tfstate"
# Each command's stdout and stderr files are in a folder of the working directory named so (removed after the
# command, or with the workspace if the worker died meanwhile).
LOG_DIR_PREFIX = ".launchpad-log-"
# Terraform's files (saved plan, errored.tfstate, .terraform) are its user's alone: they hold secrets.
TERRAFORM_UMASK = 0o077
UNRELEASED_LOCK = "Error releasing the state lock"
# What the state commands answer when the backend holds no state yet (an environment never applied).
NO_STATE = "No state file was found"
# aws-sdk-go's words for a call that got no answer at all, and the URL it was sent to.
_SEND_FAILED = "send request failed"
_CAUSED_BY = re.compile(r'caused by: [A-Za-z]+ "(?P<url>https?://[^/"]+)[^"]*": (?P<why>.+)')
_LOCK_ID = re.compile(r"^\s*ID:\s*(\S+)\s*$", re.M)


class TerraformError(RuntimeError):
    """A Terraform command failed; ``output`` holds what it printed.

    ``errored_state`` is the state Terraform could not save to its backend (``errored.tfstate``), if any: it
    holds every resource created before the failure, and secrets. ``lock_id`` is the ID of a state lock
    Terraform could not release, when it is known (printed by Terraform, or read while Terraform ran).
    """

    def __init__(self, command: str, returncode: int, output: str) -> None:
        self.command = command
        self.returncode = returncode
        self.output = output
        self.errored_state: bytes | None = None
        self.lock_id: str | None = unreleased_lock_id(output)
        super().__init__(f"terraform {command} failed (exit {returncode}): {summarise_error(output)}")

    @property
    def lock_left_behind(self) -> bool:
        """Terraform could not release the state lock it held."""
        return lock_left_behind(self.output)

    @property
    def unreachable(self) -> tuple[str, str] | None:
        """(endpoint, why) when the command failed because AWS did not answer at all."""
        return unreachable_endpoint(self.output)


class StateLockedError(TerraformError):
    """Another run holds the state lock."""


class TerraformInterrupted(TerraformError):
    """Terraform was stopped on request (SIGINT) before it finished."""


def json_event(line: str) -> dict | None:
    """One line of Terraform's ``-json`` output as its object; None for any other line (plain text, a line cut
    short, an empty line, JSON that is not an object)."""
    if not line.startswith("{"):
        return None
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


def json_lines(output: str | Iterable[str]) -> Iterator[tuple[str, dict | None]]:
    """Each line of Terraform's output with its ``-json`` object (see ``json_event``), None for a plain line.

    ``output`` is the whole text, or its lines one by one (a list, an open file: line endings are dropped).
    """
    lines = output.splitlines() if isinstance(output, str) else (line.rstrip("\r\n") for line in output)
    for line in lines:
        yield line, json_event(line)


class StateMoveError(TerraformError):
    """``terraform state mv`` (or ``state rm``, for a hand-over) failed: the state keeps ``source`` where it was
    (moves made before it stay made)."""

    def __init__(self, source: str, destination: str, failed: TerraformError, handed_over: bool = False) -> None:
        super().__init__(failed.command, failed.returncode, failed.output)
        self.source = source
        self.destination = destination
        what = f"hand {source} over to {destination}" if handed_over else f"move {source} to {destination}"
        command = "terraform state rm" if handed_over else "terraform state mv"
        self.args = (
            f"Launchpad could not {what} in the environment's state, so it made no plan "
            f"({command} failed: {summarise_error(failed.output)}). The moves made before it are saved and "
            f"the next run carries on from there; should it fail again, make this move by hand with `{command}`.",
        )


def messages(output: str) -> list[str]:
    """Terraform's output as messages: plain lines, and each -json diagnostic as its summary and detail, decoded."""
    found = []
    for line, event in json_lines(output):
        if event is None:
            found.append(line)
            continue
        diagnostic = event.get("diagnostic") or {}
        if diagnostic:
            found.append(f"{diagnostic.get('summary', '')}\n{diagnostic.get('detail', '')}")
    return found


def lock_left_behind(output: str) -> bool:
    """Whether Terraform says it could not release the state lock."""
    return UNRELEASED_LOCK in output


def unreleased_lock_id(output: str) -> str | None:
    """The ID of the lock Terraform could not release, when it printed the lock's info (not always: when AWS is
    unreachable it cannot read the lock back, and prints only the error)."""
    text = "\n".join(messages(output))
    position = text.find(UNRELEASED_LOCK)
    if position < 0:
        return None
    match = _LOCK_ID.search(text, position)
    return match.group(1) if match else None


def unreachable_endpoint(output: str) -> tuple[str, str] | None:
    """(endpoint, why) when a call of Terraform (provider or backend) got no answer at all: AWS unreachable.

    ``endpoint`` is scheme and host of the URL the call went to (empty if not printed), ``why`` the network
    error (``connection refused``, ``connection reset by peer``, ``i/o timeout``...).
    """
    for message in messages(output):
        if _SEND_FAILED in message:
            match = _CAUSED_BY.search(message)
            if match:
                return match.group("url"), match.group("why").rsplit(": ", 1)[-1].strip()
            return "", message.split(_SEND_FAILED, 1)[1].strip(" \n:") or _SEND_FAILED
    return None


INVALID_VALUE = "Invalid value for variable"
"""The summary of Terraform's diagnostic for a value that breaks a variable's validation rule."""
# Terraform appends where the rule is written ("This was checked by the validation rule at
# ../../modules/environment/variables.tf:93,3-13."): a place in files the user never sees.
_RULE_POSITION = re.compile(r"\s*This was checked by the validation rule at \S+?\.?\s*$")
# The code a rule's diagnostic points at: the argument that passed the value on, or the variable's own block.
_PASSED_VARIABLE = re.compile(
    r'^\s*(?:[A-Za-z0-9_-]+\s*=\s*var\.(?P<passed>[A-Za-z0-9_-]+)|variable\s+"(?P<declared>[^"]+)")'
)


def rule_message(detail: str) -> str:
    """A validation rule's own error message, from its diagnostic's detail (the rule's file position left out)."""
    return _RULE_POSITION.sub("", detail).strip()


def refused_variable(diagnostic: Mapping) -> str | None:
    """The variable whose value broke a validation rule, read from the code its diagnostic points at; None when
    the diagnostic is not about a rule or the code says no variable."""
    if diagnostic.get("summary") != INVALID_VALUE:
        return None
    snippet = diagnostic.get("snippet") or {}
    match = _PASSED_VARIABLE.match(str(snippet.get("code") or ""))
    return (match["passed"] or match["declared"]) if match else None


def _diagnostic_sentence(diagnostic: Mapping) -> str:
    """One error diagnostic as a sentence: a broken rule names its variable and the rule's message."""
    detail = str(diagnostic.get("detail", ""))
    variable = refused_variable(diagnostic)
    if variable is not None:
        return f"The value of {variable} is refused: {rule_message(detail)}"
    if diagnostic.get("summary") == INVALID_VALUE:
        return f"{INVALID_VALUE}: {rule_message(detail)}"
    return f"{diagnostic.get('summary', '')}: {detail}".strip(": ")


def summarise_error(output: str) -> str:
    """The first ``Error:`` lines of Terraform's output (plain or -json), for a one-line message."""
    messages = []
    for line, event in json_lines(line.strip() for line in output.splitlines()):
        if event is not None:
            diagnostic = event.get("diagnostic") or {}
            if diagnostic.get("severity") == "error":
                messages.append(_diagnostic_sentence(diagnostic))
        elif line.startswith("Error:") or line.startswith("│ Error:"):
            messages.append(line.lstrip("│ ").removeprefix("Error:").strip())
    return "; ".join(messages[:3]) or (output.strip().splitlines() or ["no output"])[-1]


def describe_event(event: dict) -> str | None:
    """The line a person reads for one of Terraform's -json events (its ``@message``); None when it has none."""
    message = event.get("@message")
    return message if isinstance(message, str) else None


APPLY_COMPLETE = "apply_complete"
"""The ``type`` of the event Terraform prints when it has finished creating, changing or destroying a resource."""


def applied_address(event: dict) -> str | None:
    """The address of the resource an ``apply_complete`` event reports done; None for any other event."""
    if event.get("type") != APPLY_COMPLETE:
        return None
    hook = event.get("hook")
    resource = hook.get("resource") if isinstance(hook, dict) else None
    address = resource.get("addr") if isinstance(resource, dict) else None
    return address if isinstance(address, str) else None


def failure_reason(error: Exception, environment: str, endpoint: str | None, lock_timeout: str) -> str:
    """The user's sentence for a failed run or drift check of ``environment``: what happened, in a few sentences
    (Terraform's first error, not its log), and what Launchpad does about a state or a lock left behind.

    ``endpoint`` is the configured AWS endpoint (None: AWS itself), ``lock_timeout`` how long the next run waits
    for a lock whose ID is unknown.
    """
    if isinstance(error, CONNECTION_ERRORS):
        return f"AWS is unreachable: {error}. Nothing was changed; run again once AWS answers."
    if not isinstance(error, TerraformError):
        return str(error)
    unreachable = error.unreachable
    if unreachable is None and not error.errored_state and not error.lock_left_behind:
        return str(error)
    first = summarise_error(error.output).split("; ")[0].replace("\n", " ")
    if unreachable is not None:
        where, why = unreachable
        where = where or endpoint or "AWS"
        parts = [f"The AWS endpoint {where} is unreachable ({why}): terraform {error.command} failed."]
    else:
        parts = [f"terraform {error.command} failed: {first[:300]}."]
    if error.errored_state:
        parts.append(
            "Terraform could not save the state to the state store: Launchpad kept it (encrypted, on this run) "
            f"and pushes it before the next run of {environment}, so the resources created before the failure "
            "are not lost."
        )
    elif error.lock_left_behind and error.command == "apply":
        parts.append("The state itself was saved.")
    if error.lock_left_behind and error.lock_id:
        parts.append(
            f"The state lock {error.lock_id} could not be released: Launchpad releases it before the next run."
        )
    elif error.lock_left_behind:
        parts.append(
            "The state lock could not be released, and Terraform could not tell its ID: the next run waits for it "
            f"({lock_timeout}) and then names its holder; release it with `terraform force-unlock`."
        )
    parts.append("Run again once AWS answers." if unreachable is not None else "")
    if unreachable is not None:
        parts.append(f"First error: {first[:300]}")
    return " ".join(part for part in parts if part)


def _private_file(path: Path) -> BinaryIO:
    """A new file open for writing, readable by its owner only (0600)."""
    return open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")


@dataclass
class CommandResult:
    returncode: int
    stdout: str
    stderr: str
    lines: list[tuple[str, str]] = field(default_factory=list)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class TerraformRunner:
    """Terraform commands in ``working_dir`` with ``toolchain``'s binary and environment.

    ``lock_fd`` is an open descriptor each Terraform process inherits (the workspace's lock, see
    provisioning.workspace.claimed_workspace), so that the lock stays held while Terraform runs.
    """

    def __init__(
        self,
        working_dir: Path,
        toolchain: Toolchain,
        env: Mapping[str, str] | None = None,
        lock_fd: int | None = None,
    ) -> None:
        self.working_dir = Path(working_dir)
        self.toolchain = toolchain
        self.env = toolchain.environment(dict(env) if env is not None else None)
        self.lock_fd = lock_fd
        self._builder = Terraform(working_dir=str(self.working_dir), terraform_bin_path=str(toolchain.terraform_bin))

    def command(self, cmd: str, *args: str, **options: object) -> list[str]:
        """The argv for ``terraform cmd`` with python-terraform's option syntax (``no_color=IsFlagged``)."""
        options.setdefault("no_color", IsFlagged)
        return self._builder.generate_cmd_string(cmd, *args, **options)

    def run(
        self,
        cmd: str,
        *args: str,
        on_line: LineSink | None = None,
        ok_codes: Iterable[int] = (0,),
        stop: Callable[[], bool] | None = None,
        **options: object,
    ) -> CommandResult:
        """Run a command, streaming each output line to ``on_line``; raise :class:`TerraformError` on failure.

        ``stop`` is polled while Terraform runs; once it answers True, Terraform gets SIGINT, which makes it
        finish the resource at hand, save state and release the lock, as Ctrl-C does.
        """
        argv = self.command(cmd, *args, **options)
        # Terraform writes to files, not pipes, in its own session: if this process dies, Terraform is
        # neither killed with it nor stopped by a broken pipe, so it finishes, saves state and unlocks. The files
        # live in the working directory (they may hold secrets: sensitive outputs), so they go with it.
        log_dir = Path(tempfile.mkdtemp(prefix=f"{LOG_DIR_PREFIX}{cmd.split()[0]}-", dir=self.working_dir))
        paths = {"stdout": log_dir / "stdout.log", "stderr": log_dir / "stderr.log"}
        with _private_file(paths["stdout"]) as out, _private_file(paths["stderr"]) as err:
            process = subprocess.Popen(
                argv,
                cwd=self.working_dir,
                env=self.env,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                umask=TERRAFORM_UMASK,
                pass_fds=() if self.lock_fd is None else (self.lock_fd,),
            )
        collected: dict[str, list[str]] = {"stdout": [], "stderr": []}
        ordered: list[tuple[str, str]] = []
        followers = {name: _LineFollower(path) for name, path in paths.items()}

        def deliver(final: bool = False) -> None:
            for name, follower in followers.items():
                for line in follower.read(final):
                    collected[name].append(line)
                    ordered.append((name, line))
                    if on_line is not None:
                        on_line(name, line)

        interrupted = False
        while True:
            try:
                returncode = process.wait(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                deliver()
                if stop is not None and not interrupted and stop():
                    process.send_signal(signal.SIGINT)
                    interrupted = True
        deliver(final=True)
        shutil.rmtree(log_dir, ignore_errors=True)
        result = CommandResult(returncode, "\n".join(collected["stdout"]), "\n".join(collected["stderr"]), ordered)
        if interrupted:
            raise TerraformInterrupted(cmd, returncode, result.output)
        if returncode not in set(ok_codes):
            error_class = StateLockedError if "Error acquiring the state lock" in result.output else TerraformError
            error = error_class(cmd, returncode, result.output)
            errored = self.working_dir / ERRORED_STATE
            if errored.is_file():
                # The state the backend did not get: handed to the caller (the directory may go next).
                error.errored_state = errored.read_bytes()
                errored.unlink()
            raise error
        return result

    def init(
        self, backend_config: Mapping[str, str] | Path | None = None, on_line: LineSink | None = None
    ) -> CommandResult:
        """``terraform init``; ``backend_config`` is a mapping of settings or a backend config file."""
        options: dict[str, object] = {"input": False}
        if isinstance(backend_config, Path):
            options["backend_config"] = [str(backend_config)]
        elif backend_config:
            options["backend_config"] = dict(backend_config)
        return self.run("init", on_line=on_line, **options)

    def plan(
        self,
        plan_file: Path,
        var_file: Path | None = None,
        destroy: bool = False,
        refresh_only: bool = False,
        lock_timeout: str = "0s",
        on_line: LineSink | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> bool:
        """Write a plan to ``plan_file`` (streaming -json events); return True when it has changes."""
        options: dict[str, object] = {
            "input": False,
            "json": IsFlagged,
            "detailed_exitcode": IsFlagged,
            "lock_timeout": lock_timeout,
            "out": str(plan_file),
        }
        if var_file is not None:
            options["var_file"] = str(var_file)
        if destroy:
            options["destroy"] = IsFlagged
        if refresh_only:
            options["refresh_only"] = IsFlagged
        result = self.run("plan", on_line=on_line, ok_codes=(0, 2), stop=stop, **options)
        return result.returncode == 2

    def apply(self, plan_file: Path, lock_timeout: str = "0s", on_line: LineSink | None = None) -> CommandResult:
        """Apply exactly ``plan_file`` (streaming -json events)."""
        return self.run(
            "apply", str(plan_file), on_line=on_line, input=False, json=IsFlagged, lock_timeout=lock_timeout
        )

    def show_plan(self, plan_file: Path) -> dict:
        """``terraform show -json`` of a saved plan."""
        return json.loads(self.run("show", str(plan_file), json=IsFlagged).stdout)

    def show_state(self) -> dict:
        """``terraform show -json`` of the current state."""
        return json.loads(self.run("show", json=IsFlagged).stdout or "{}")

    def outputs(self) -> dict:
        """The root module's outputs, sensitive values included (callers decide what to keep)."""
        return json.loads(self.run("output", json=IsFlagged).stdout or "{}")

    def force_unlock(self, lock_id: str) -> CommandResult:
        """``terraform force-unlock``: release the state lock ``lock_id`` (only if that lock is the one held)."""
        return self.run("force-unlock", lock_id, force=IsFlagged)

    def pull_state(self) -> dict | None:
        """The backend's current state, or None when it holds none."""
        text = self.run("state pull").stdout.strip()
        return json.loads(text) if text else None

    def state_addresses(self) -> list[str]:
        """``terraform state list``: the address of every resource instance in the state (none without a state)."""
        try:
            listed = self.run("state list").stdout
        except TerraformError as error:
            if NO_STATE in error.output:
                return []
            raise
        return [line.strip() for line in listed.splitlines() if line.strip()]

    def state_move(self, source: str, destination: str, lock_timeout: str = "0s") -> CommandResult:
        """``terraform state mv``: give the module or resource at ``source`` the address ``destination``.

        Raises :class:`StateMoveError` (with the sentence for the user) when Terraform refuses or fails.
        """
        try:
            return self.run("state mv", source, destination, lock_timeout=lock_timeout)
        except TerraformInterrupted:
            raise
        except TerraformError as failed:
            raise StateMoveError(source, destination, failed) from failed

    def state_hand_over(self, source: str, owner: str, lock_timeout: str = "0s") -> CommandResult:
        """``terraform state rm``: forget the resource at ``source``, whose object ``owner`` manages from now on.

        AWS keeps the object. Raises :class:`StateMoveError` (with the sentence for the user) when Terraform fails.
        """
        try:
            return self.run("state rm", source, lock_timeout=lock_timeout)
        except TerraformInterrupted:
            raise
        except TerraformError as failed:
            raise StateMoveError(source, owner, failed, handed_over=True) from failed

    def push_state(self, state_file: Path, lock_timeout: str = "0s") -> CommandResult:
        """``terraform state push`` (never ``-force``: Terraform too refuses an unrelated or older state)."""
        return self.run("state push", str(state_file), lock_timeout=lock_timeout)
