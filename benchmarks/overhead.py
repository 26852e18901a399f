"""Measure Launchpad's overhead: a sandbox from the API call to "ready", against plain Terraform doing the same.

    .venv/bin/python benchmarks/overhead.py [--runs 3] [--quick] [--json PATH]

Launchpad: ``POST /api/v1/environments/`` (a dev ``sandbox``: planned, checked by the audit, applied at once)
through gunicorn to a Celery worker, until the run has finished and the environment is ready. Plain:
``terraform init && terraform apply -auto-approve`` of the same blueprint with the same kind of variables
(the same non-secret ones, generated secrets as TF_VAR_*) and the same S3 + DynamoDB backend (another state
key), run by this script. Both against one emulator, started here with everything else in a throwaway place
(benchmarks/harness.py: SQLite, or a fresh database beside DATABASE_URL; filesystem broker, or
CELERY_BROKER_URL). Each path is warmed once (state store bootstrap, plugin cache, worker), then plain,
"gated by hand" and Launchpad alternate ``--runs`` times with their own names and CIDRs. Gated by hand is
Launchpad's own sequence of Terraform commands run by this script (``init``, ``plan -out``, ``show -json`` and
the audit, ``apply <plan>``): it splits the overhead into what the approval gate costs in Terraform itself and
what Launchpad adds. Goal: Launchpad / plain <= 1.10 (medians).

Launchpad's time is split with the run's own timestamps: created, started (the worker took it), Terraform's
``@timestamp`` on the -json events of plan and apply (version = process start, change_summary = done,
outputs), finished. "ready" is the run's finished time (the same transaction makes the environment ready);
the time a 0.5 s poll of the API saw it is reported beside it. Writes the figures as JSON to
artifacts/overhead.json (LAUNCHPAD_ARTIFACTS moves it) or ``--json``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.harness import ARTIFACTS, REGION, Launchpad, cleanup_on_signals  # noqa: E402

GOAL = 1.10
SECRET_VARIABLES = ("db_password", "app_secret_key")  # both blueprints' sensitive variables, generated per environment
PHASES = [
    ("api", "API request (until the run is queued)"),
    ("pickup", "broker pickup + claim"),
    ("init", "state store check + render + terraform init"),
    ("plan", "terraform plan"),
    ("check", "show -json + audit + DB writes (+ init of the apply if not reused)"),
    ("apply", "terraform apply"),
    ("settle", "outputs + DB writes"),
]


def stamp(value: str) -> float:
    """An ISO 8601 timestamp (API or Terraform's @timestamp) as seconds since the epoch."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def terraform_marks(events: list[dict]) -> dict[str, float]:
    """Times of Terraform's -json milestones in a run's events: plan/apply start (version) and end (change_summary)."""
    marks: dict[str, float] = {}
    operation = "plan"
    for event in events:
        data = event.get("data") or {}
        kind = data.get("type")
        if kind == "version":
            # The first version event is the plan's, the next the apply's.
            operation = "plan" if "plan_start" not in marks else "apply"
            marks[f"{operation}_start"] = stamp(data["@timestamp"])
        elif kind == "change_summary":
            marks[f"{data['changes']['operation']}_end"] = stamp(data["@timestamp"])
        elif kind == "outputs":
            marks["outputs"] = stamp(data["@timestamp"])
    return marks


def launchpad_run(launchpad: Launchpad, name: str, cidr: str, blueprint: str = "sandbox") -> dict:
    sent = launchpad.request_sandbox(name, cidr, blueprint)
    # The finished time is the measure: a slow poll (0.5 s) takes little CPU from the run on 2 cores.
    seen = launchpad.wait_until_settled([name], interval=0.5)[name]
    run = launchpad.last_run(name)
    marks = terraform_marks(launchpad.run_events(run["id"]))
    created, started, finished = (stamp(run[key]) for key in ("created_at", "started_at", "finished_at"))
    edges = [sent, created, started, marks["plan_start"], marks["plan_end"], marks["apply_start"]]
    edges += [marks["apply_end"], finished]
    phases = {key: round(end - start, 2) for (key, _), start, end in zip(PHASES, edges[:-1], edges[1:], strict=True)}
    return {
        "name": name,
        "run_id": run["id"],
        "seconds": round(finished - sent, 2),
        "seen_seconds": round(seen - sent, 2),
        "phases": phases,
        "resources": run["plan_summary"].get("add"),
    }


def by_hand(
    launchpad: Launchpad, store, scratch: Path, name: str, cidr: str, gated: bool = False, blueprint: str = "sandbox"
) -> dict:
    """The sandbox with Terraform run by hand, with the same kind of variables and backend as Launchpad's.

    Plain: ``terraform init && terraform apply -auto-approve``. Gated (``gated``): Launchpad's own Terraform
    commands without Launchpad, ``init && plan -out && show -json && apply <plan>``, plus the audit of the JSON:
    what the approval gate costs in Terraform itself.
    """
    from provisioning import engine, toolchain
    from provisioning.workspace import BackendConfig, render_workspace

    chain = toolchain.prepare()
    endpoint = launchpad.emulator.endpoint
    variables = {"vpc_cidr": cidr, "environment": name, "tier": "dev", "region": REGION, "aws_endpoint_url": endpoint}
    backend = BackendConfig(store.bucket, f"plain/{name}/terraform.tfstate", REGION, store.lock_table, endpoint)
    workspace = render_workspace(blueprint, scratch / f"plain-{name}", variables, backend)
    # 40 characters, as Launchpad generates them (the database module allows 16-41 for RDS MySQL).
    env = chain.environment(
        {**launchpad.env, **{f"TF_VAR_{key}": secrets.token_urlsafe(30) for key in SECRET_VARIABLES}}
    )
    init = ["init", "-input=false", f"-backend-config={workspace.backend_file}"]
    var_file = f"-var-file={workspace.var_file}"
    steps = (
        [
            ("init", init),
            ("plan", ["plan", "-input=false", "-out=p.tfplan", var_file]),
            ("show", ["show", "-json", "p.tfplan"]),
            ("apply", ["apply", "-input=false", "p.tfplan"]),
        ]
        if gated
        else [("init", init), ("apply", ["apply", "-auto-approve", "-input=false", var_file])]
    )
    log_path = launchpad.log_dir / f"plain-{name}.log"
    phases = {}
    with open(log_path, "wb") as log:
        for step, argv in steps:
            started = time.time()
            done = subprocess.run(
                [str(chain.terraform_bin), *argv],
                cwd=workspace.root,
                env=env,
                stdout=subprocess.PIPE if step == "show" else log,
                stderr=log,
            )
            if done.returncode != 0:
                raise RuntimeError(f"terraform {step} of {name} failed; see {log_path}")
            if step == "show":
                engine.audit_plan(json.loads(done.stdout))
            phases[step] = round(time.time() - started, 2)
    return {"name": name, "seconds": round(sum(phases.values()), 2), "phases": phases}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one run of each (a cheap rerun)")
    parser.add_argument("--blueprint", default="sandbox", choices=["sandbox", "full"], help="what both paths build")
    parser.add_argument("--json", type=Path, default=None, help="where to write the figures (artifacts/overhead.json)")
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs
    cleanup_on_signals()
    with tempfile.TemporaryDirectory(prefix="launchpad-overhead-") as tmp:
        scratch = Path(tmp)
        with Launchpad(scratch, concurrency=1, log_dir=ARTIFACTS / "overhead-logs") as launchpad:
            result = measure(launchpad, scratch, runs, args.blueprint)
    report(result, args.json or ARTIFACTS / "overhead.json")


def measure(launchpad: Launchpad, scratch: Path, runs: int, blueprint: str = "sandbox") -> dict:
    started = time.perf_counter()
    # Warm-up: the worker bootstraps the region's state store and fills its caches; plain fills the plugin cache.
    launchpad_run(launchpad, "ovh-warm-lp", "10.200.0.0/16", blueprint)
    store = launchpad.state_store()
    by_hand(launchpad, store, scratch, "ovh-warm-plain", "10.201.0.0/16", blueprint=blueprint)
    print(f"warmed up in {time.perf_counter() - started:.0f} s (emulator {launchpad.emulator.endpoint})", flush=True)
    plain, gated, lp = [], [], []
    for number in range(1, runs + 1):
        plain.append(
            by_hand(launchpad, store, scratch, f"ovh-plain-{number}", f"10.{100 + number}.0.0/16", blueprint=blueprint)
        )
        gated.append(
            by_hand(launchpad, store, scratch, f"ovh-gated-{number}", f"10.{120 + number}.0.0/16", True, blueprint)
        )
        lp.append(launchpad_run(launchpad, f"ovh-lp-{number}", f"10.{150 + number}.0.0/16", blueprint))
        print(
            f"run {number}: plain {plain[-1]['seconds']:.2f} s, gated by hand {gated[-1]['seconds']:.2f} s, "
            f"Launchpad {lp[-1]['seconds']:.2f} s",
            flush=True,
        )
    return {"blueprint": blueprint, "runs": runs, "plain": plain, "gated_by_hand": gated, "launchpad": lp}


def report(result: dict, json_path: Path) -> None:
    plain, gated, lp = result["plain"], result["gated_by_hand"], result["launchpad"]
    medians = {
        key: statistics.median(run["seconds"] for run in result[key]) for key in ("plain", "gated_by_hand", "launchpad")
    }
    ratio = medians["launchpad"] / medians["plain"]
    result.update(
        median_seconds={key: round(value, 2) for key, value in medians.items()},
        ratio=round(ratio, 3),
        launchpad_over_gated_by_hand=round(medians["launchpad"] / medians["gated_by_hand"], 3),
        gated_by_hand_over_plain=round(medians["gated_by_hand"] / medians["plain"], 3),
        goal=GOAL,
        goal_met=ratio <= GOAL,
        cpus=os.cpu_count(),
        load_average=os.getloadavg(),
    )
    print(f"\nblueprint: {result['blueprint']}")
    print(
        "| run | plain s (init + apply) | gated by hand s (init + plan + show + apply) | Launchpad s (API call → ready) "
        "| seen by polling s | Launchpad / plain |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for number, (p, g, run) in enumerate(zip(plain, gated, lp, strict=True), start=1):
        print(
            f"| {number} | {p['seconds']:.2f} ({' + '.join(f'{v:.2f}' for v in p['phases'].values())}) "
            f"| {g['seconds']:.2f} ({' + '.join(f'{v:.2f}' for v in g['phases'].values())}) "
            f"| {run['seconds']:.2f} | {run['seen_seconds']:.2f} | {run['seconds'] / p['seconds']:.3f} |"
        )
    print(
        f"| median | {medians['plain']:.2f} | {medians['gated_by_hand']:.2f} | {medians['launchpad']:.2f} | "
        f"| **{ratio:.3f}** (goal ≤ {GOAL}) |"
    )
    print()
    print("Where Launchpad's time goes (median s over the runs):")
    print()
    print("| phase | median s |")
    print("| --- | --- |")
    for key, label in PHASES:
        print(f"| {label} | {statistics.median(run['phases'][key] for run in lp):.2f} |")
    print()
    print(
        f"Launchpad / gated by hand (Launchpad's own overhead): {result['launchpad_over_gated_by_hand']:.3f}; "
        f"gated by hand / plain (saved plan + show -json + separate apply, in Terraform): "
        f"{result['gated_by_hand_over_plain']:.3f}"
    )
    print(
        f"goal {'met' if result['goal_met'] else 'NOT met'}: ratio {ratio:.3f} ≤ {GOAL}; load average {os.getloadavg()}"
    )
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result, indent=2))
    print(f"figures written to {json_path}")


if __name__ == "__main__":
    main()
