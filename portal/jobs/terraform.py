"""What every Terraform job of an environment shares (a run, a drift check): the state store, the request for
the engine, the user's sentence for a failure, and pushing the state and releasing the lock a failed run left
(recover_state) before any other Terraform work on the environment."""

from __future__ import annotations

import fcntl

from django.conf import settings

from portal import crypto
from portal.activity.models import record
from portal.environments.models import Environment
from portal.runs.models import runs_with_left_state
from provisioning import aws, engine, toolchain
from provisioning.terraform import TerraformError, failure_reason

# What a run or a drift check may fail with and tell its user in a sentence (anything else is a bug, logged).
KNOWN_FAILURES = (TerraformError, engine.ClientError, engine.StateRecoveryError, *aws.CONNECTION_ERRORS)


def describe_failure(error: Exception, environment: Environment) -> str:
    """The user's sentence for a run or drift check of ``environment`` that failed with ``error``."""
    return failure_reason(error, environment.name, settings.AWS_ENDPOINT_URL, engine.LOCK_TIMEOUT)


def terraform_request(
    environment: Environment,
    operation_id: int,
    store: engine.StateStore,
    destroy: bool = False,
    operation: str = "run",
) -> engine.RunRequest:
    """What the engine needs to drive Terraform for ``environment`` (a run's or, ``operation`` "drift", a drift
    check's work)."""
    endpoint = settings.AWS_ENDPOINT_URL
    return engine.RunRequest(
        run_id=operation_id,
        blueprint=environment.blueprint.name,
        environment=environment.name,
        region=environment.region,
        variables=environment.terraform_variables(),
        secret_environment=environment.secret_environment(),
        endpoint=endpoint,
        state_store=store,
        state_key=environment.state_key,
        destroy=destroy,
        operation=operation,
    )


def state_store(sink, chain: toolchain.Toolchain, region: str) -> engine.StateStore:
    """The configured state bucket and lock table, or the ones Launchpad bootstraps in ``region``."""
    configured = settings.LAUNCHPAD
    if configured["STATE_BUCKET"] and configured["LOCK_TABLE"]:
        return engine.StateStore(configured["STATE_BUCKET"], configured["LOCK_TABLE"])
    return engine.ensure_state_store(
        region, settings.AWS_ENDPOINT_URL, chain, configured["WORK_DIR"], sink, name_prefix=configured["NAME_PREFIX"]
    )


def recover_state(
    environment: Environment, operation_id: int, sink, chain: toolchain.Toolchain, operation: str = "run"
) -> None:
    """Before any Terraform work on ``environment``: release the stale lock and push the state failed runs left.

    Releasing that lock is safe: it is the very lock the failed run held (engine.release_and_push checks the ID),
    and Launchpad's database guarantees no other run of the environment is under way. One worker at a time
    (a file lock per environment, as for the bootstrap), so a drift check and a run never push twice.
    """
    if not runs_with_left_state(environment):
        return
    store = state_store(sink, chain, environment.region)
    home = settings.LAUNCHPAD["WORK_DIR"] / "recovery"
    home.mkdir(parents=True, exist_ok=True)
    with open(home / f"environment-{environment.pk}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for failed in runs_with_left_state(environment):
            left = engine.LeftState(
                run_id=failed.pk,
                state=crypto.decrypt_bytes(failed.encrypted_kept_state) if failed.encrypted_kept_state else None,
                lock_id=failed.unreleased_lock_id,
            )
            sink("launchpad", f"Run #{failed.pk} lost AWS mid-way: handling what it left before this one.")
            try:
                engine.recover_state(
                    terraform_request(environment, operation_id, store, operation=operation),
                    left,
                    chain,
                    settings.LAUNCHPAD["WORK_DIR"],
                    sink,
                )
            except engine.StateRecoveryError as error:
                if error.lock_released:
                    failed.forget_left_state(lock=True, state=False)
                raise
            failed.forget_left_state()
            record(
                "run.state_recovered", failed, actor=None, by=operation_id, lock_id=left.lock_id, state=bool(left.state)
            )
