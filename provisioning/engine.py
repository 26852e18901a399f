"""One run's Terraform work, without Django: plan (summarised), apply a saved plan, and the state store.

The caller (provisioning/tasks.py) owns the database side: it passes a :class:`RunRequest`, a sink for
output lines, and stores what comes back. Secrets arrive as ``TF_VAR_*`` environment values and are
masked in every line before it reaches the sink.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from botocore.exceptions import ClientError
from python_terraform import IsFlagged

from provisioning import aws
from provisioning.terraform import LineSink, TerraformRunner
from provisioning.toolchain import Toolchain
from provisioning.workspace import MODULE_LIBRARY, BackendConfig, render_workspace

STATEFUL_RESOURCE_TYPES = frozenset(
    {
        "aws_db_instance",
        "aws_rds_cluster",
        "aws_s3_bucket",
        "aws_elasticache_cluster",
        "aws_elasticache_replication_group",
        "aws_sqs_queue",
        "aws_secretsmanager_secret",
        "aws_secretsmanager_secret_version",
        "aws_ssm_parameter",
        "aws_dynamodb_table",
    }
)
LOCK_TIMEOUT = "120s"
REDACTED = "[redacted]"


@dataclass(frozen=True)
class StateStore:
    bucket: str
    lock_table: str


@dataclass(frozen=True)
class RunRequest:
    """Everything a run needs to drive Terraform for one environment."""

    run_id: int
    blueprint: str
    environment: str
    region: str
    variables: dict
    secret_environment: dict[str, str]
    endpoint: str | None
    state_store: StateStore
    destroy: bool = False

    @property
    def state_key(self) -> str:
        return f"environments/{self.environment}/terraform.tfstate"


@dataclass
class PlanOutcome:
    has_changes: bool
    summary: dict
    plan: bytes


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
    for change in plan.get("resource_changes", []):
        actions = change["change"]["actions"]
        if actions in (["no-op"], ["read"]):
            continue
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
        action = "replace" if replaced else actions[0]
        entry = {"address": change["address"], "type": change["type"], "action": action}
        summary["resources"].append(entry)
        if "delete" in actions and change["type"] in STATEFUL_RESOURCE_TYPES:
            summary["stateful_losses"].append(entry)
    return summary


def _runner(workspace_root: Path, toolchain: Toolchain, request: RunRequest) -> TerraformRunner:
    return TerraformRunner(workspace_root, toolchain, env={**os.environ, **request.secret_environment})


@contextmanager
def _workspace(request: RunRequest, work_dir: Path):
    """A fresh workspace for this step, removed afterwards (state is remote, the plan is returned)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix=f"run-{request.run_id}-", dir=work_dir))
    try:
        backend = BackendConfig(
            bucket=request.state_store.bucket,
            key=request.state_key,
            region=request.region,
            dynamodb_table=request.state_store.lock_table,
            endpoint=request.endpoint,
        )
        yield render_workspace(request.blueprint, directory / "ws", request.variables, backend)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def plan(
    request: RunRequest,
    toolchain: Toolchain,
    work_dir: Path,
    sink: LineSink,
    stop: Callable[[], bool] | None = None,
) -> PlanOutcome:
    """init + plan (``-destroy`` for a destroy run); return the summary and the plan file's bytes."""
    sink = masked(sink, Redactor(request.secret_environment.values()))
    with _workspace(request, work_dir) as workspace:
        runner = _runner(workspace.root, toolchain, request)
        runner.init(backend_config=workspace.backend_file, on_line=sink)
        has_changes = runner.plan(
            workspace.plan_file,
            var_file=workspace.var_file,
            destroy=request.destroy,
            lock_timeout=LOCK_TIMEOUT,
            on_line=sink,
            stop=stop,
        )
        summary = summarise_plan(runner.show_plan(workspace.plan_file))
        return PlanOutcome(has_changes=has_changes, summary=summary, plan=workspace.plan_file.read_bytes())


def apply(request: RunRequest, plan_bytes: bytes, toolchain: Toolchain, work_dir: Path, sink: LineSink) -> dict:
    """Apply exactly the saved plan; return the root module's non-sensitive outputs."""
    sink = masked(sink, Redactor(request.secret_environment.values()))
    with _workspace(request, work_dir) as workspace:
        runner = _runner(workspace.root, toolchain, request)
        runner.init(backend_config=workspace.backend_file, on_line=sink)
        workspace.plan_file.write_bytes(plan_bytes)
        runner.apply(workspace.plan_file, lock_timeout=LOCK_TIMEOUT, on_line=sink)
        outputs = runner.outputs()
    return {name: body["value"] for name, body in outputs.items() if not body.get("sensitive")}


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
    name_prefix: str = "spotmusic",
) -> StateStore:
    """The state bucket and lock table of ``region``, created by the bootstrap root the first time."""
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
                "name_prefix": name_prefix,
                "bucket_name": store.bucket,
                "lock_table_name": store.lock_table,
            },
        )
        # Local state of the bootstrap lives beside the workspace, kept between runs.
        state_file = home / "bootstrap.tfstate"
        try:
            runner = TerraformRunner(workspace.root, toolchain)
            runner.init(on_line=sink)
            runner.run(
                "apply",
                on_line=sink,
                input=False,
                auto_approve=IsFlagged,
                var_file=str(workspace.var_file),
                state=str(state_file),
            )
        finally:
            shutil.rmtree(directory, ignore_errors=True)
    return store
