"""One run's Terraform work, without Django: plan (summarised), apply a saved plan, and the state store.

The caller (portal/runs/execution.py) owns the database side: it passes a :class:`RunRequest`, a sink for
output lines, and stores what comes back. Secrets arrive as ``TF_VAR_*`` environment values and are
masked in every line before it reaches the sink.
"""

from __future__ import annotations

import fcntl
import functools
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from botocore.exceptions import ClientError
from python_terraform import IsFlagged

from provisioning import audit, aws
from provisioning.blueprints import resource_types
from provisioning.state_moves import STATE_MOVES_FILE, pending_moves, state_moves
from provisioning.terraform import LineSink, TerraformError, TerraformRunner, json_event
from provisioning.toolchain import Toolchain
from provisioning.workspace import (
    MODULE_LIBRARY,
    BackendConfig,
    Workspace,
    claimed_workspace,
    render_workspace,
    write_private,
)

# The resource types that hold data (their loss is "data is lost"), each with what a person calls what it holds.
DATA_HELD = {
    "aws_db_instance": "databases",
    "aws_rds_cluster": "databases",
    "aws_s3_bucket": "stored files (S3 buckets)",
    "aws_elasticache_cluster": "caches",
    "aws_elasticache_replication_group": "caches",
    "aws_sqs_queue": "queues",
    "aws_secretsmanager_secret": "secrets",
    "aws_secretsmanager_secret_version": "secrets",
    "aws_ssm_parameter": "parameters",
    "aws_dynamodb_table": "tables",
}
STATEFUL_RESOURCE_TYPES = frozenset(DATA_HELD)
LOCK_TIMEOUT = "120s"
REDACTED = "[redacted]"
STATE_STORE_READY = "State store ready."

log = logging.getLogger(__name__)


@functools.cache
def data_held_by(blueprint: str) -> tuple[str, ...]:
    """What the blueprint's resources that hold data hold ("databases", "queues"...), in DATA_HELD's order:
    what destroying one of its environments loses."""
    types = resource_types(blueprint)
    return tuple(dict.fromkeys(held for kind, held in DATA_HELD.items() if kind in types))


@dataclass(frozen=True)
class StateStore:
    bucket: str
    lock_table: str


@dataclass(frozen=True)
class RunRequest:
    """Everything a run needs to drive Terraform for one environment.

    ``run_id`` is the id of the ``operation`` the work is for: "run" (a run) or "drift" (a drift check); the two
    name their workspaces ``<operation>-<id>-…``, so a workspace left behind is traced to its owner.
    """

    run_id: int
    blueprint: str
    environment: str
    region: str
    variables: dict
    secret_environment: dict[str, str]
    endpoint: str | None
    state_store: StateStore
    # The environment's own key in the state store: an environment that takes a destroyed one's name has another.
    state_key: str
    destroy: bool = False
    operation: str = "run"


@dataclass
class PlanOutcome:
    has_changes: bool
    summary: dict
    plan: bytes
    # The audit rules' findings on the state the plan would leave (provisioning.audit), as JSON.
    findings: list[dict] = field(default_factory=list)
    # Why the audit could not check the plan, if it could not: the plan then waits for a person.
    audit_error: str = ""
    # Each changed resource with its attributes before → after (plan_changes, ResourceChange.to_dict()).
    changes: list[dict] = field(default_factory=list)


@dataclass
class Redactor:
    """Replaces every secret value in a text with a marker."""

    secrets: Iterable[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Longest first, so a secret containing another is masked whole.
        self._values = sorted({s for s in self.secrets if s and len(s) >= 6}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, REDACTED)
        return text


def masked(sink: LineSink, redactor: Redactor) -> LineSink:
    def forward(stream: str, line: str) -> None:
        sink(stream, redactor(line))

    return forward


def summarise_plan(plan: dict) -> dict:
    """Counts of add / change / destroy and the resources behind them; stateful losses flagged."""
    summary = {"add": 0, "change": 0, "destroy": 0, "replace": 0, "resources": [], "stateful_losses": []}
    for change in _planned_changes(plan):
        actions = change["change"]["actions"]
        replaced = "create" in actions and "delete" in actions
        if replaced:
            summary["replace"] += 1
            summary["add"] += 1
            summary["destroy"] += 1
        elif actions == ["create"]:
            summary["add"] += 1
        elif actions == ["update"]:
            summary["change"] += 1
        elif actions == ["delete"]:
            summary["destroy"] += 1
        entry = {"address": change["address"], "type": change["type"], "action": _action(actions)}
        summary["resources"].append(entry)
        if "delete" in actions and change["type"] in STATEFUL_RESOURCE_TYPES:
            summary["stateful_losses"].append(entry)
    return summary


def _planned_changes(plan: dict) -> list[dict]:
    """The plan's resource_changes that change something (neither no-op nor a data source's read)."""
    return [
        change
        for change in plan.get("resource_changes", [])
        if change["change"]["actions"] not in (["no-op"], ["read"])
    ]


def _action(actions: list[str]) -> str:
    return "replace" if "create" in actions and "delete" in actions else actions[0]


# --- the plan review: what each resource's change does, attribute by attribute ------------------------
KNOWN_AFTER_APPLY = "(known after apply)"
# What a run keeps of its plan's values: one value at most MAX_VALUE_CHARS (as JSON), all of them at most
# MAX_CHANGES_CHARS; the resources past that keep their action and address, without values.
MAX_VALUE_CHARS = 2_000
MAX_CHANGES_CHARS = 200_000


@dataclass(frozen=True)
class AttributeChange:
    """One attribute of a planned change: ``before`` → ``after`` (None when absent: a create's before, a delete's
    after). Sensitive values are SENSITIVE and values Terraform learns only by applying KNOWN_AFTER_APPLY,
    also inside nested values."""

    name: str
    before: object = None
    after: object = None
    forces_replacement: bool = False


@dataclass(frozen=True)
class ResourceChange:
    """What the plan does to one resource: its action and the attributes that change (a create's settings, a
    delete's last values); ``replaced_because`` the attributes that force a replacement."""

    address: str
    module: str
    type: str
    action: str
    attributes: tuple[AttributeChange, ...] = ()
    replaced_because: tuple[str, ...] = ()
    values_omitted: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def plan_changes(plan: dict, redactor: Redactor | None = None) -> list[ResourceChange]:
    """Each resource the plan (``terraform show -json``) changes, with its attributes before → after.

    A create shows the attributes it sets (not the provider's many nulls), a delete what goes, an update or a
    replacement what differs, null and a zero value taken as equal (the drift checks' rule, ``changed_attributes``).
    Values are bounded (MAX_VALUE_CHARS, MAX_CHANGES_CHARS); sensitive ones never leave Terraform's JSON, and
    ``redactor`` masks any known secret a value still holds.
    """
    redactor = redactor or Redactor()
    changes: list[ResourceChange] = []
    budget = MAX_CHANGES_CHARS
    for entry in _planned_changes(plan):
        change = entry["change"]
        action = _action(change["actions"])
        forced = tuple(_attribute_name(path) for path in change.get("replace_paths") or [])
        attributes = tuple(
            AttributeChange(
                name,
                _bounded(before, redactor),
                _bounded(after, redactor),
                any(_within(name, path) or _within(path, name) for path in forced),
            )
            for name, before, after in _attribute_changes(action, change)
        )
        size = len(json.dumps([asdict(attribute) for attribute in attributes]))
        budget -= size
        changes.append(
            ResourceChange(
                address=entry["address"],
                module=entry.get("module_address", ""),
                type=entry["type"],
                action=action,
                attributes=attributes if budget >= 0 else (),
                replaced_because=forced,
                values_omitted=budget < 0 and bool(attributes),
            )
        )
    return changes


def _attribute_changes(action: str, change: dict) -> list[tuple[str, object, object]]:
    if action == "create":
        after = _shown(change.get("after"), change.get("after_sensitive"), change.get("after_unknown"))
        return [(name, None, value) for name, value in (after or {}).items() if not _zero(value)]
    if action == "delete":
        before = _shown(change.get("before"), change.get("before_sensitive"), None)
        return [(name, value, None) for name, value in (before or {}).items() if not _zero(value)]
    # Compared in clear (a secret that changes is a change), shown masked: changed_attributes masks what it lists.
    after = _shown(change.get("after"), None, change.get("after_unknown"))
    return [
        (attribute["name"], attribute["before"], attribute["after"])
        for attribute in changed_attributes(
            change.get("before"), after, change.get("before_sensitive"), change.get("after_sensitive")
        )
    ]


def _shown(value: object, sensitive: object, unknown: object) -> object:
    """``value`` as the review shows it: SENSITIVE and KNOWN_AFTER_APPLY in place of what Terraform marks so
    (its markers mirror the value's shape), null and empty entries of objects dropped."""
    if sensitive is True:
        return SENSITIVE
    if unknown is True:
        return KNOWN_AFTER_APPLY
    if isinstance(value, dict) or isinstance(unknown, dict):
        value = value if isinstance(value, dict) else {}
        names = set(value) | {name for name, marker in (unknown or {}).items() if marker is True}
        shown = {name: _shown(value.get(name), _marker(sensitive, name), _marker(unknown, name)) for name in names}
        return {name: item for name, item in sorted(shown.items()) if not _zero(item)}
    if isinstance(value, list):
        items = [_shown(item, _marker(sensitive, index), _marker(unknown, index)) for index, item in enumerate(value)]
        return [item for item in items if item != {}]  # an empty block stands for none (see _canonical)
    return value


def _marker(marker: object, key: str | int) -> object:
    """The part of a sensitivity or unknown marker for one key of an object or one item of a list."""
    if isinstance(marker, dict) and isinstance(key, str):
        return marker.get(key)
    if isinstance(marker, list) and isinstance(key, int) and key < len(marker):
        return marker[key]
    return None


def _attribute_name(path: list) -> str:
    """A replace path (``["ingress", 0, "cidr_blocks"]``) as the name the review gives it: the attribute up to
    its first list index (lists are compared whole)."""
    names: list[str] = []
    for step in path:
        if not isinstance(step, str):
            break
        names.append(step)
    return ".".join(names)


def _within(name: str, outer: str) -> bool:
    return name == outer or name.startswith(outer + ".")


def _bounded(value: object, redactor: Redactor) -> object:
    """``value`` with known secrets masked, and cut to MAX_VALUE_CHARS (as a string) when longer."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    masked_text = redactor(text)
    if len(masked_text) > MAX_VALUE_CHARS:
        return f"{masked_text[:MAX_VALUE_CHARS]}… ({len(masked_text):,} characters in all)"
    if masked_text == text:
        return value
    return masked_text if isinstance(value, str) else json.loads(masked_text)


def audit_plan(plan: dict) -> tuple[list[dict], str]:
    """The audit's findings on ``plan`` (``terraform show -json``), and the error if it could not check it."""
    try:
        return [finding.to_dict() for finding in audit.check_plan(plan)], ""
    except Exception as error:  # an unreadable plan must not pass unchecked: the caller asks for an approver
        return [], f"{error.__class__.__name__}: {error}"


def _runner(workspace: Workspace, toolchain: Toolchain, request: RunRequest) -> TerraformRunner:
    return TerraformRunner(
        workspace.root, toolchain, env={**os.environ, **request.secret_environment}, lock_fd=workspace.lock_fd
    )


@contextmanager
def _workspace(request: RunRequest, work_dir: Path):
    """A fresh workspace for this step, removed afterwards (state is remote, the plan is returned)."""
    with claimed_workspace(work_dir, request.operation, request.run_id) as claimed:
        backend = BackendConfig(
            bucket=request.state_store.bucket,
            key=request.state_key,
            region=request.region,
            dynamodb_table=request.state_store.lock_table,
            endpoint=request.endpoint,
        )
        yield render_workspace(request.blueprint, claimed.path / "ws", request.variables, backend, claimed.lock_fd)


class RunWorkspace:
    """The workspace of one run on this worker, rendered and ``terraform init``-ed once, on first use.

    A dev plan applied at once by the worker that made it is applied in the plan's own workspace: no second
    render and init. An apply anywhere else (an approved plan, another worker) gets a fresh one.
    """

    def __init__(self, request: RunRequest, work_dir: Path) -> None:
        self.request = request
        self.work_dir = work_dir
        self._scope = ExitStack()
        self._workspace: Workspace | None = None
        self._initialised = False

    def runner(self, request: RunRequest, toolchain: Toolchain, sink: LineSink) -> tuple[Workspace, TerraformRunner]:
        """The workspace and a runner in it for ``request`` (same environment, store and variables)."""
        if self._workspace is None:
            self._workspace = self._scope.enter_context(_workspace(self.request, self.work_dir))
        runner = _runner(self._workspace, toolchain, request)
        if not self._initialised:
            runner.init(backend_config=self._workspace.backend_file, on_line=sink)
            self._initialised = True
        return self._workspace, runner

    def close(self) -> None:
        """Remove the workspace (its plan file holds variable values)."""
        self._scope.close()

    def __enter__(self) -> RunWorkspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def _run_workspace(request: RunRequest, work_dir: Path, shared: RunWorkspace | None):
    """``shared`` when the caller keeps one for the whole run, otherwise a workspace for this step only."""
    if shared is not None:
        yield shared
        return
    with RunWorkspace(request, work_dir) as own:
        yield own


def without_sensitive_outputs(sink: LineSink) -> LineSink:
    """Forward lines to ``sink``, with the values of sensitive outputs taken out of apply's "outputs" message.

    Terraform 1.0's ``apply -json`` prints every root output there, sensitive ones included in clear
    (``{"sensitive": true, "value": ...}``): such a value must reach neither the run's events nor the database.
    """

    def forward(stream: str, line: str) -> None:
        event = _outputs_event(line) if stream == "stdout" else None
        if event is not None and any(body.get("sensitive") for body in event["outputs"].values()):
            event["outputs"] = {
                name: {key: value for key, value in body.items() if key != "value"} if body.get("sensitive") else body
                for name, body in event["outputs"].items()
            }
            line = json.dumps(event)
        sink(stream, line)

    return forward


def _outputs_event(line: str) -> dict | None:
    """The "outputs" message of ``apply -json``, if ``line`` is one."""
    event = json_event(line) if '"outputs"' in line else None
    if not (event and event.get("type") == "outputs" and isinstance(event.get("outputs"), dict)):
        return None
    return event if all(isinstance(body, dict) for body in event["outputs"].values()) else None


# --- the state lock and the state a failed run left -----------------------------------------------
# When AWS becomes unreachable during an apply, Terraform can neither save the state to S3 (it writes
# errored.tfstate instead: TerraformError.errored_state) nor release its DynamoDB lock. Nor can it read the lock
# back, so it does not print the lock's ID: Launchpad reads it while Terraform holds it. Before the next run of
# the environment, the lock is released and the state pushed (recover_state).
LOCK_HELD_EVENTS = frozenset({"apply_start", "refresh_start", "planned_change", "resource_drift", "change_summary"})


class StateRecoveryError(RuntimeError):
    """The stale lock or the kept state of a failed run cannot be handled safely; the message says why."""

    def __init__(self, message: str, lock_released: bool = False) -> None:
        super().__init__(message)
        self.lock_released = lock_released


@dataclass(frozen=True)
class StateLock:
    """Terraform's lock on one state, as its DynamoDB item says."""

    id: str
    operation: str = ""
    who: str = ""
    created: str = ""


@dataclass(frozen=True)
class LeftState:
    """What a failed run left for the next one: the state Terraform could not save, and the lock it held."""

    run_id: int
    state: bytes | None = None
    lock_id: str = ""


def read_state_lock(request: RunRequest) -> StateLock | None:
    """The lock held on the environment's state now (the lock table's item for ``bucket/key``), if any."""
    table = aws.client("dynamodb", request.region, request.endpoint)
    key = {"LockID": {"S": f"{request.state_store.bucket}/{request.state_key}"}}
    item = table.get_item(TableName=request.state_store.lock_table, Key=key, ConsistentRead=True).get("Item")
    if not item or "Info" not in item:
        return None
    info = json.loads(item["Info"]["S"])
    return StateLock(
        id=info.get("ID", ""),
        operation=info.get("Operation", ""),
        who=info.get("Who", ""),
        created=info.get("Created", ""),
    )


class LockWatch:
    """A sink that, once Terraform holds the state lock (its first event after taking it), reads the lock's ID."""

    def __init__(self, sink: LineSink, read: Callable[[], StateLock | None]) -> None:
        self.sink = sink
        self.read = read
        self.lock_id: str | None = None
        self.looked = False

    def __call__(self, stream: str, line: str) -> None:
        self.sink(stream, line)
        event = json_event(line) if not self.looked and stream == "stdout" else None
        if event is not None and event.get("type") in LOCK_HELD_EVENTS:
            self.looked = True
            try:
                lock = self.read()
            except (ClientError, *aws.CONNECTION_ERRORS):
                return  # AWS already unreachable: the ID stays unknown, and the failure says so
            self.lock_id = lock.id if lock else None


@contextmanager
def watching_lock(request: RunRequest, sink: LineSink):
    """Yield a sink that learns the state lock's ID; a TerraformError leaving that lock behind gets the ID."""
    watch = LockWatch(sink, lambda: read_state_lock(request))
    try:
        yield watch
    except TerraformError as error:
        if error.lock_left_behind and not error.lock_id:
            error.lock_id = watch.lock_id
        raise


def _instances(state: dict) -> int:
    """The resource instances a state holds (data sources are read, not made: they do not count)."""
    return sum(
        len(resource.get("instances", []))
        for resource in state.get("resources", [])
        if resource.get("mode", "managed") == "managed"
    )


def _empty(state: dict | None) -> bool:
    """Terraform's own test: a state with no resources and no outputs may be overwritten by any other."""
    return not state or (not state.get("resources") and not state.get("outputs"))


def release_and_push(
    runner: TerraformRunner,
    scratch: Path,
    left: LeftState,
    current_lock: Callable[[], StateLock | None],
    sink: LineSink,
    environment: str,
) -> None:
    """Release the lock ``left`` names, then push its state; refuse (StateRecoveryError) what is not safe.

    The lock is released only when the lock held now is that very lock (Launchpad's database already
    guarantees no other run of the environment is under way). The state is pushed only onto an empty state or
    onto the same lineage at a serial no newer than its own, as ``terraform state push`` without -force checks.
    """
    released = False
    if left.lock_id:
        lock = current_lock()
        if lock is None:
            sink("launchpad", f"The state lock {left.lock_id} left by run #{left.run_id} is no longer held.")
        elif lock.id != left.lock_id:
            raise StateRecoveryError(
                f"The state of {environment} is locked by {lock.id} ({lock.operation or 'an operation'} by "
                f"{lock.who or 'someone'} since {lock.created or 'an unknown time'}), not by the lock {left.lock_id} "
                f"run #{left.run_id} left behind: Launchpad releases only its own lock, and keeps run "
                f"#{left.run_id}'s state until that lock is gone."
            )
        else:
            runner.force_unlock(left.lock_id)
            sink(
                "launchpad",
                f"Released the stale state lock {left.lock_id} that run #{left.run_id} could not release "
                "(AWS was unreachable); no other run of this environment is under way.",
            )
        released = True
    if left.state is None:
        return
    kept = json.loads(left.state)
    remote = runner.pull_state()
    refusal = f"Launchpad did not push the state run #{left.run_id} kept"
    keeping = f"It stays on run #{left.run_id}, encrypted: compare the two states before replacing either."
    if not _empty(remote):
        if remote.get("lineage") != kept.get("lineage"):
            raise StateRecoveryError(
                f"{refusal}: the state store holds another state of {environment} (lineage "
                f"{remote.get('lineage') or 'none'}, the kept one {kept.get('lineage') or 'none'}). {keeping}",
                lock_released=released,
            )
        if remote.get("serial", 0) > kept.get("serial", 0):
            raise StateRecoveryError(
                f"{refusal}: the state store's state of {environment} is newer (serial {remote.get('serial')}, "
                f"the kept one {kept.get('serial')}), written after run #{left.run_id} failed. {keeping}",
                lock_released=released,
            )
    state_file = scratch / f"kept-{left.run_id}.tfstate"
    write_private(state_file, left.state)
    try:
        runner.push_state(state_file, lock_timeout=LOCK_TIMEOUT)
    finally:
        state_file.unlink(missing_ok=True)
    sink(
        "launchpad",
        f"Pushed the state run #{left.run_id} kept (serial {kept.get('serial')}, {_instances(kept)} resources) to "
        f"the state store: the resources created before AWS became unreachable are known to Terraform again.",
    )


def recover_state(request: RunRequest, left: LeftState, toolchain: Toolchain, work_dir: Path, sink: LineSink) -> None:
    """Before a run: release the stale lock and push the state ``left`` by a failed run (release_and_push)."""
    sink = masked(sink, Redactor(request.secret_environment.values()))
    with _workspace(request, work_dir) as workspace:
        runner = _runner(workspace, toolchain, request)
        runner.init(backend_config=workspace.backend_file, on_line=sink)
        release_and_push(runner, workspace.directory, left, lambda: read_state_lock(request), sink, request.environment)


def migrate_state(
    runner: TerraformRunner, blueprint: str, environment: str, sink: LineSink, table: Path = STATE_MOVES_FILE
) -> int:
    """Move the state's addresses to the module library's current layout (state-moves.json); return how many moved.

    Before a plan: an environment applied with an earlier layout keeps its resources under their new addresses,
    instead of a plan that destroys and re-creates them; a resource handed over to another (a rule now inline in
    its group) leaves the state, so the plan does not revoke it. A state already moved (or empty) needs nothing.
    """
    moves = state_moves(blueprint, table)
    needed = pending_moves(runner.state_addresses(), moves) if moves else []
    if not needed:
        return 0
    sink(
        "launchpad",
        f"The state of {environment} was written with an earlier layout of the {blueprint} blueprint: moving "
        f"{len(needed)} addresses so that the plan keeps its resources. {needed[0].why}",
    )
    for move in needed:
        if move.handed_over:
            runner.state_hand_over(move.source, move.destination, lock_timeout=LOCK_TIMEOUT)
            sink(
                "launchpad",
                f"Handed {move.source} over to {move.destination}: gone from the state, unchanged in AWS.",
            )
        else:
            runner.state_move(move.source, move.destination, lock_timeout=LOCK_TIMEOUT)
            sink("launchpad", f"Moved {move.source} to {move.destination}.")
    return len(needed)


def plan(
    request: RunRequest,
    toolchain: Toolchain,
    work_dir: Path,
    sink: LineSink,
    stop: Callable[[], bool] | None = None,
    workspace: RunWorkspace | None = None,
) -> PlanOutcome:
    """init, the state's address moves (migrate_state), plan (``-destroy`` for a destroy run); return the summary,
    the audit's findings and the plan file.

    In ``workspace`` when given (kept by the caller for an apply right after), else in one of its own.
    """
    redactor = Redactor(request.secret_environment.values())
    drift = DriftReport(masked(sink, redactor))
    shown: dict | None = None
    try:
        with _run_workspace(request, work_dir, workspace) as shared, watching_lock(request, drift) as sink:
            rendered, runner = shared.runner(request, toolchain, sink)
            migrate_state(runner, request.blueprint, request.environment, sink)
            has_changes = runner.plan(
                rendered.plan_file,
                var_file=rendered.var_file,
                destroy=request.destroy,
                lock_timeout=LOCK_TIMEOUT,
                on_line=sink,
                stop=stop,
            )
            # A plan without changes applies nothing: neither its summary nor the pre-apply audit needs Terraform
            # to load the provider's schema again for `show -json` (about a second and a CPU-second per no-op run),
            # unless Terraform reported drift, which only the shown plan's attributes tell from representation noise.
            shown = runner.show_plan(rendered.plan_file) if has_changes or drift.held else {}
            drift.release(shown)
            findings, audit_error = audit_plan(shown) if has_changes and not request.destroy else ([], "")
            return PlanOutcome(
                has_changes=has_changes,
                summary=summarise_plan(shown),
                plan=rendered.plan_file.read_bytes(),
                findings=findings,
                audit_error=audit_error,
                changes=[change.to_dict() for change in plan_changes(shown, redactor)],
            )
    finally:
        # A plan that failed (or was stopped) before it could be shown keeps every drift line Terraform printed:
        # without the shown plan nothing tells noise from drift, and the log of a failure withholds nothing.
        drift.release(shown)


def apply(
    request: RunRequest,
    plan_bytes: bytes,
    toolchain: Toolchain,
    work_dir: Path,
    sink: LineSink,
    workspace: RunWorkspace | None = None,
) -> dict:
    """Apply exactly the saved plan; return the root module's non-sensitive outputs.

    In ``workspace`` when given (the plan's own, already initialised), else in a fresh one. The outputs are
    read from apply's "outputs" message (``terraform output`` only if there is none).
    """
    redactor = Redactor(request.secret_environment.values())
    sink = masked(sink, redactor)
    with _run_workspace(request, work_dir, workspace) as shared, watching_lock(request, sink) as sink:
        rendered, runner = shared.runner(request, toolchain, sink)
        write_private(rendered.plan_file, plan_bytes)
        result = runner.apply(rendered.plan_file, lock_timeout=LOCK_TIMEOUT, on_line=without_sensitive_outputs(sink))
        events = [_outputs_event(line) for stream, line in result.lines if stream == "stdout"]
        outputs = next((event["outputs"] for event in reversed(events) if event is not None), None)
        if outputs is None:
            outputs = runner.outputs()
    return _public_outputs(outputs, redactor)


def _public_outputs(outputs: dict, redactor: Redactor) -> dict:
    """The values of the outputs that are not sensitive (``{name: {value, sensitive}}``), secrets masked."""
    kept = {name: body.get("value") for name, body in outputs.items() if not body.get("sensitive")}
    return json.loads(redactor(json.dumps(kept)))


@dataclass(frozen=True)
class AppliedState:
    """What the environment's state holds: how many resource instances, and its non-sensitive outputs."""

    resources: int
    outputs: dict


def applied_state(
    request: RunRequest,
    toolchain: Toolchain,
    work_dir: Path,
    sink: LineSink,
    workspace: RunWorkspace | None = None,
) -> AppliedState:
    """The state as the state store holds it (``terraform state pull``): after an apply that had nothing to change,
    this is what the environment is, though no apply printed its outputs."""
    redactor = Redactor(request.secret_environment.values())
    with _run_workspace(request, work_dir, workspace) as shared:
        _, runner = shared.runner(request, toolchain, masked(sink, redactor))
        state = runner.pull_state() or {}
    return AppliedState(resources=_instances(state), outputs=_public_outputs(state.get("outputs") or {}, redactor))


def _state_store_exists(store: StateStore, region: str, endpoint: str | None) -> bool:
    try:
        aws.client("s3", region, endpoint).head_bucket(Bucket=store.bucket)
        aws.client("dynamodb", region, endpoint).describe_table(TableName=store.lock_table)
    except ClientError:
        return False
    return True


def ensure_state_store(
    region: str,
    endpoint: str | None,
    toolchain: Toolchain,
    work_dir: Path,
    sink: LineSink,
    name_prefix: str,
) -> StateStore:
    """The state bucket and lock table of ``region``, created by the bootstrap root the first time.

    Their names begin with ``name_prefix``: the portal's ``LAUNCHPAD["NAME_PREFIX"]`` (LAUNCHPAD_NAME_PREFIX).
    ``sink`` (the log of the run that needed the store) gets two lines, what is created and that it is ready:
    the bootstrap is the operator's business, so Terraform's own output goes to the operator's log (this
    module's logger), and a failure reaches the run as the TerraformError it raises.
    """
    store = StateStore(bucket=f"{name_prefix}-launchpad-tfstate-{region}", lock_table=f"{name_prefix}-launchpad-tflock")
    if _state_store_exists(store, region, endpoint):
        return store
    home = work_dir / "bootstrap" / region
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one worker bootstraps a region; the others wait for it
        if _state_store_exists(store, region, endpoint):
            return store
        sink("launchpad", f"Creating the Terraform state store of {region} ({store.bucket}, {store.lock_table}).")
        directory = Path(tempfile.mkdtemp(prefix="bootstrap-", dir=home))
        workspace = render_workspace(
            MODULE_LIBRARY / "bootstrap",
            directory / "ws",
            {
                "region": region,
                "aws_endpoint_url": endpoint or "",
                "aws_max_retries": aws.max_retries(),
                "name_prefix": name_prefix,
                "bucket_name": store.bucket,
                "lock_table_name": store.lock_table,
            },
        )
        # Local state of the bootstrap lives beside the workspace, kept between runs.
        state_file = home / "bootstrap.tfstate"

        def operator_log(stream: str, line: str) -> None:
            log.info("state store bootstrap of %s (%s): %s", region, stream, line)

        try:
            runner = TerraformRunner(workspace.root, toolchain)
            runner.init(on_line=operator_log)
            runner.run(
                "apply",
                on_line=operator_log,
                input=False,
                auto_approve=IsFlagged,
                var_file=str(workspace.var_file),
                state=str(state_file),
            )
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        sink("launchpad", STATE_STORE_READY)
    return store


# --- drift -------------------------------------------------------------------------------------
# hashicorp/aws 3.x is built on the legacy plugin SDK, which cannot tell an unset attribute from its zero
# value: the state written when a resource is created keeps null where the next read returns "", 0, false,
# [] or {} (tags of an untagged resource, alarm_actions, a rule's ipv6_cidr_blocks, a stage's variables).
# Terraform 1.0 then lists the resource as changed outside Terraform (hashicorp/terraform#29319); it happens
# on AWS as on the emulator and means nothing, so the drift comparison takes null and a zero value as equal.
_ZERO_VALUES = ("", 0, False)

# Observations AWS itself moves forward: nobody can set them, so they cannot drift meaningfully.
IGNORED_DRIFT_ATTRIBUTES: dict[str, frozenset[str]] = {
    # The latest point in time a database can be restored to; AWS advances it every few minutes.
    "aws_db_instance": frozenset({"latest_restorable_time"}),
}

_ROUTE_TARGETS = (
    "carrier_gateway_id",
    "egress_only_gateway_id",
    "gateway_id",
    "instance_id",
    "local_gateway_id",
    "nat_gateway_id",
    "network_interface_id",
    "transit_gateway_id",
    "vpc_endpoint_id",
    "vpc_peering_connection_id",
)
_EIP_ASSOCIATION = ("association_id", "network_interface", "private_ip", "private_dns", "instance")
SENSITIVE = "(sensitive)"


@dataclass
class DriftOutcome:
    """What a refresh-only plan found: the resources whose real state left Terraform's, with the attributes."""

    drifted: bool
    resources: list[dict]
    reported_by_terraform: int


def _zero(value: object) -> bool:
    return value is None or value in ({}, []) or (not isinstance(value, (dict, list)) and value in _ZERO_VALUES)


def _canonical(value: object) -> object:
    """``value`` with null-or-zero entries dropped from objects and empty blocks dropped from lists."""
    if isinstance(value, dict):
        kept = {key: _canonical(item) for key, item in value.items()}
        return {key: item for key, item in kept.items() if not _zero(item)}
    if isinstance(value, list):
        items = [_canonical(item) for item in value]
        # A block whose every attribute is empty stands for no block (the SDK writes one at create).
        return [item for item in items if not (isinstance(item, dict) and not item)]
    return value


def _sensitive(marker: object) -> bool:
    """True when Terraform's sensitivity marker says the value, or anything inside it, is sensitive."""
    if isinstance(marker, dict):
        return any(_sensitive(item) for item in marker.values())
    if isinstance(marker, list):
        return any(_sensitive(item) for item in marker)
    return marker is True


def changed_attributes(
    before: dict | None, after: dict | None, before_sensitive: object = None, after_sensitive: object = None
) -> list[dict]:
    """The attributes that differ, deep through objects (``tags.Owner``); lists are compared whole.

    Each entry is ``{name, before, after}``; a sensitive value is shown as ``(sensitive)``.
    """
    before, after = before or {}, after or {}
    changes: list[dict] = []

    def walk(left: object, right: object, name: str, left_marker: object, right_marker: object) -> None:
        if isinstance(left, dict) or isinstance(right, dict):
            left = left if isinstance(left, dict) else {}
            right = right if isinstance(right, dict) else {}
            for key in sorted(set(left) | set(right)):
                a, b = _canonical(left.get(key)), _canonical(right.get(key))
                if (_zero(a) and _zero(b)) or a == b:
                    continue
                walk(
                    a,
                    b,
                    f"{name}.{key}" if name else key,
                    left_marker.get(key) if isinstance(left_marker, dict) else left_marker,
                    right_marker.get(key) if isinstance(right_marker, dict) else right_marker,
                )
            return
        hidden = _sensitive(left_marker) or _sensitive(right_marker)
        changes.append(
            {
                "name": name,
                "before": SENSITIVE if hidden else (None if _zero(left) else left),
                "after": SENSITIVE if hidden else (None if _zero(right) else right),
            }
        )

    walk(before, after, "", before_sensitive or {}, after_sensitive or {})
    return changes


def _state_resources(plan: dict) -> list[dict]:
    """Every managed resource of the refreshed state a refresh-only plan carries (``prior_state``)."""
    found: list[dict] = []

    def walk(module: dict) -> None:
        found.extend(r for r in module.get("resources", []) if r.get("mode") == "managed")
        for child in module.get("child_modules", []):
            walk(child)

    walk((plan.get("prior_state") or {}).get("values", {}).get("root_module", {}))
    return found


def _rule_sources(block: dict, self_id: str) -> set[tuple]:
    """The single permissions a security group block (or rule) grants: one per source."""
    base = (str(block.get("protocol")), block.get("from_port"), block.get("to_port"))
    sources = {("cidr", c) for c in block.get("cidr_blocks") or []}
    sources |= {("ipv6", c) for c in block.get("ipv6_cidr_blocks") or []}
    sources |= {("prefix", p) for p in block.get("prefix_list_ids") or []}
    sources |= {("group", g) for g in block.get("security_groups") or []}
    if block.get("source_security_group_id"):
        sources.add(("group", block["source_security_group_id"]))
    if block.get("self"):
        sources.add(("group", self_id))
    return {(*base, *source) for source in sources}


def _made_by_other_resources(resource_type: str, values: dict, state: list[dict]) -> dict:
    """``values`` without the parts other resources of the configuration manage.

    AWS reports a security group's rules on the group, a route table's routes on the table, a role's
    inline policies on the role and an Elastic IP's association on the address, even when separate
    resources (aws_security_group_rule, aws_route, aws_iam_role_policy, aws_nat_gateway) made them. The
    owner's state, written before those parts existed, is stale right after the apply that made them, on
    AWS as on the emulator. Those parts are checked through their own resources; what no resource of the
    configuration accounts for (a rule added in the console) remains and is reported as drift.
    """
    if not values:
        return values
    values = dict(values)

    def of_type(kind: str) -> list[dict]:
        return [resource["values"] for resource in state if resource["type"] == kind]

    if resource_type == "aws_security_group":
        for direction in ("ingress", "egress"):
            granted = set()
            for rule in of_type("aws_security_group_rule"):
                if rule.get("security_group_id") == values.get("id") and rule.get("type") == direction:
                    granted |= _rule_sources(rule, values.get("id"))
            values[direction] = [
                block
                for block in values.get(direction) or []
                if not (_rule_sources(block, values.get("id")) and _rule_sources(block, values.get("id")) <= granted)
            ]
    elif resource_type == "aws_route_table":
        routes = {
            (r.get("destination_cidr_block") or "", r.get("destination_ipv6_cidr_block") or "")
            + tuple(r.get(target) or "" for target in _ROUTE_TARGETS)
            for r in of_type("aws_route")
            if r.get("route_table_id") == values.get("id")
        }
        values["route"] = [
            block
            for block in values.get("route") or []
            if (block.get("cidr_block") or "", block.get("ipv6_cidr_block") or "")
            + tuple(block.get(target) or "" for target in _ROUTE_TARGETS)
            not in routes
        ]
    elif resource_type == "aws_iam_role":
        policies = {p.get("name") for p in of_type("aws_iam_role_policy") if p.get("role") == values.get("name")}
        values["inline_policy"] = [
            block for block in values.get("inline_policy") or [] if block.get("name") not in policies
        ]
        attached = {
            a.get("policy_arn")
            for a in of_type("aws_iam_role_policy_attachment")
            if a.get("role") == values.get("name")
        }
        if values.get("managed_policy_arns"):
            values["managed_policy_arns"] = [arn for arn in values["managed_policy_arns"] if arn not in attached]
    elif resource_type == "aws_eip":
        holders = of_type("aws_nat_gateway") + of_type("aws_eip_association")
        if any(h.get("allocation_id") == values.get("id") for h in holders):
            for key in _EIP_ASSOCIATION:
                values.pop(key, None)
    return values


def drifted_resources(plan: dict, redactor: Redactor | None = None) -> list[dict]:
    """The resource_drift of a refresh-only plan (``show -json``), as ``[{address, type, action, attributes}]``.

    Representation noise (null against an empty value, parts other resources manage, values AWS moves
    on its own) is left out, so an environment fresh from an apply has no drift.
    """
    redactor = redactor or Redactor()
    state = _state_resources(plan)
    found = []
    for entry in plan.get("resource_drift", []):
        change = entry.get("change", {})
        actions = change.get("actions", [])
        if entry.get("mode", "managed") != "managed" or actions in (["no-op"], ["read"]):
            continue
        resource_type = entry["type"]
        if actions == ["delete"] or change.get("after") is None:
            found.append({"address": entry["address"], "type": resource_type, "action": "delete", "attributes": []})
            continue
        before = _made_by_other_resources(resource_type, change.get("before") or {}, state)
        after = _made_by_other_resources(resource_type, change.get("after") or {}, state)
        ignored = IGNORED_DRIFT_ATTRIBUTES.get(resource_type, frozenset())
        attributes = [
            _redacted(attribute, redactor)
            for attribute in changed_attributes(
                before, after, change.get("before_sensitive"), change.get("after_sensitive")
            )
            if attribute["name"].split(".", 1)[0] not in ignored
        ]
        if attributes:
            found.append(
                {"address": entry["address"], "type": resource_type, "action": "update", "attributes": attributes}
            )
    for standing in _unowned_rules(state):
        standing["attributes"] = [_redacted(attribute, redactor) for attribute in standing["attributes"]]
        reported = next((resource for resource in found if resource["address"] == standing["address"]), None)
        if reported is None:
            found.append(standing)
            continue
        named = {attribute["name"] for attribute in reported["attributes"]}
        reported["attributes"] += [a for a in standing["attributes"] if a["name"] not in named]
    return found


def _unowned_rules(state: list[dict]) -> list[dict]:
    """Security groups holding rules no resource of the configuration owns, whatever the state says.

    A direction made of separate ``aws_security_group_rule`` resources (the egress of groups that name each
    other) is not owned by its group: an apply after a rule was added there by hand writes that rule into the
    group's state and removes nothing, and a refresh-only plan then sees no difference. Such a rule is drift
    for as long as it is there, so the refreshed state is read for it on every check. A direction written
    inline on the group is its group's own: an apply removes what is not declared.
    """
    found = []
    rules = [resource["values"] for resource in state if resource["type"] == "aws_security_group_rule"]
    for resource in state:
        if resource["type"] != "aws_security_group" or not resource.get("values"):
            continue
        values = resource["values"]
        by_rules = {rule.get("type") for rule in rules if rule.get("security_group_id") == values.get("id")}
        left = _made_by_other_resources("aws_security_group", values, state)
        attributes = [
            {"name": direction, "before": None, "after": _canonical(left[direction])}
            for direction in ("egress", "ingress")
            if direction in by_rules and left.get(direction)
        ]
        if attributes:
            found.append(
                {"address": resource["address"], "type": resource["type"], "action": "update", "attributes": attributes}
            )
    return found


class DriftReport:
    """A sink for a plan's output that holds back Terraform's "Drift detected" events until the plan is shown, then
    passes on those of the resources the drift checks find drifted (``drifted_resources``): a plan's log and the
    drift panel then tell the same story, without the representation noise Terraform reports after every apply."""

    def __init__(self, sink: LineSink) -> None:
        self.sink = sink
        self.held: list[tuple[str, str]] = []

    def __call__(self, stream: str, line: str) -> None:
        event = json_event(line) if stream == "stdout" and '"resource_drift"' in line else None
        if event is not None and event.get("type") == "resource_drift":
            resource = (event.get("change") or {}).get("resource") or {}
            self.held.append((str(resource.get("addr", "")), line))
            return
        self.sink(stream, line)

    def release(self, plan: dict | None) -> None:
        """Pass on the held events of the resources that drifted, as ``plan`` (``show -json``) tells; every held
        event when there is no plan to tell (Terraform failed before it could be shown). Once: what is passed on
        is no longer held."""
        drifted = None if plan is None else {resource["address"] for resource in drifted_resources(plan)}
        for address, line in self.held:
            if drifted is None or address in drifted:
                self.sink("stdout", line)
        self.held = []


def _redacted(attribute: dict, redactor: Redactor) -> dict:
    def clean(value: object) -> object:
        if isinstance(value, str):
            return redactor(value)
        if isinstance(value, (dict, list)):
            return json.loads(redactor(json.dumps(value)))
        return value

    return {"name": attribute["name"], "before": clean(attribute["before"]), "after": clean(attribute["after"])}


def check_drift(request: RunRequest, toolchain: Toolchain, work_dir: Path, sink: LineSink) -> DriftOutcome:
    """init + ``plan -refresh-only -detailed-exitcode`` + ``show -json``: how reality left the state.

    Reads only: the plan is never applied, and the state is left as it is.
    """
    redactor = Redactor(request.secret_environment.values())
    drift = DriftReport(masked(sink, redactor))
    plan: dict | None = None
    try:
        with _workspace(request, work_dir) as workspace, watching_lock(request, drift) as sink:
            runner = _runner(workspace, toolchain, request)
            runner.init(backend_config=workspace.backend_file, on_line=sink)
            runner.plan(
                workspace.plan_file,
                var_file=workspace.var_file,
                refresh_only=True,
                lock_timeout=LOCK_TIMEOUT,
                on_line=sink,
            )
            # Shown even when Terraform reports nothing: a rule no resource owns stays in the refreshed state.
            plan = runner.show_plan(workspace.plan_file)
    finally:
        drift.release(plan)  # unfiltered when the check failed before its plan was shown (as plan's)
    resources = drifted_resources(plan, redactor)
    return DriftOutcome(
        drifted=bool(resources), resources=resources, reported_by_terraform=len(plan.get("resource_drift", []))
    )
