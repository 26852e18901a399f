"""Fixtures of the dashboards' tests: ready environments whose resources exist in the emulator, AWS call counts."""

from __future__ import annotations

from collections import Counter

import pytest
from django.core.cache import cache

from portal.environments.choices import EnvironmentStatus
from provisioning import aws
from tests.dashboards.resources import build_full, build_sandbox, unique_name
from tests.factories import make_environment


@pytest.fixture(autouse=True)
def empty_cache():
    """Every test starts with nothing cached."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def ready_environment(emulator, db):
    """make(blueprint="sandbox"|"full", **counts): an Environment, ready, whose resources exist in the emulator."""

    def make(blueprint: str = "sandbox", name: str | None = None, **counts):
        name = name or unique_name()
        outputs = build_full(name) if blueprint == "full" else build_sandbox(name, **counts)
        environment = make_environment(name=name, blueprint_name=blueprint)
        environment.status, environment.outputs = EnvironmentStatus.READY, outputs
        environment.save()
        return environment

    return make


class CallCounter:
    """Counts the AWS API calls made through provisioning.aws.client, by operation name."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def wrap(self, factory):
        def client(*args, **kwargs):
            made = factory(*args, **kwargs)
            made.meta.events.register("before-call", self._count)
            return made

        return client

    def _count(self, model, **kwargs) -> None:
        self.calls[model.name] += 1


@pytest.fixture
def aws_calls(monkeypatch):
    """A CallCounter wrapped around the one boto3 factory."""
    counter = CallCounter()
    monkeypatch.setattr(aws, "client", counter.wrap(aws.client))
    return counter
