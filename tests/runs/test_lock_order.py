"""A destroy asked for while a worker claims one of the environment's waiting runs: both take their locks in one
order (the run, then its environment, as Job.claim does), so neither waits for the other forever. Against
PostgreSQL, with threads: the worker's claim is played step by step to hold the run while the destroy starts."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from portal.environments.models import Environment
from portal.runs.choices import RunKind
from portal.runs.models import Run
from portal.runs.services import request_run
from tests.factories import make_environment, make_run, record_enqueued_runs


@pytest.mark.django_db(transaction=True)
def test_a_destroy_asked_for_while_a_worker_claims_the_first_run_does_not_deadlock(monkeypatch):
    record_enqueued_runs(monkeypatch)
    environment = make_environment(name="claimed-now")
    queued = make_run(environment)
    run_held, errors = threading.Event(), []

    def worker_claims() -> None:
        # What Job.claim does in its transaction: the run locked first, then its environment.
        try:
            with transaction.atomic():
                Run.objects.select_for_update().get(pk=queued.pk)
                run_held.set()
                time.sleep(0.5)  # the destroy asks now, and waits for a lock
                Environment.objects.select_for_update().get(pk=environment.pk)
        except Exception as error:  # reported below: the test fails with it
            errors.append(error)
        finally:
            connection.close()

    worker = threading.Thread(target=worker_claims)
    worker.start()
    run_held.wait()
    try:
        destroy = request_run(environment, RunKind.DESTROY, environment.owner)
    except Exception as error:
        errors.append(error)
    worker.join()

    assert errors == []
    assert destroy.status == "succeeded"
    assert Run.objects.get(pk=queued.pk).status == "cancelled"
