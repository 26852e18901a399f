"""Automatic network allocation: a definition without a vpc_cidr gets a free block of its region's pool, never one
another live environment uses, also when many are created at the same moment."""

from __future__ import annotations

import ipaddress
import threading
import time

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from portal import settings as launchpad_settings
from portal.environments import models
from portal.environments.models import Environment, check_definition, create_environment
from tests.environments.test_views import sandbox_form
from tests.factories import api_client, blueprint, make_environment, make_user

pytestmark = pytest.mark.django_db
ENVIRONMENTS = "/api/v1/environments/"


def create(client, name: str, **fields):
    return client.post(ENVIRONMENTS, {"name": name, "blueprint": "sandbox", "apply": False, **fields}, format="json")


def test_the_second_sandbox_of_a_region_gets_its_own_block_with_default_settings():
    client = api_client(make_user())

    first, second = create(client, "alice-sandbox"), create(client, "bob-sandbox")

    assert (first.status_code, second.status_code) == (201, 201), second.content
    assert (first.json()["vpc_cidr"], second.json()["vpc_cidr"]) == ("10.0.0.0/16", "10.1.0.0/16")
    assert Environment.objects.get(name="bob-sandbox").variables["vpc_cidr"] == "10.1.0.0/16"


def test_a_block_someone_chose_is_skipped_and_still_checked_for_overlap():
    client = api_client(make_user())
    make_environment(name="chosen", vpc_cidr="10.0.3.0/24")

    assert create(client, "auto").json()["vpc_cidr"] == "10.1.0.0/16"
    refused = create(client, "overlapping", variables={"vpc_cidr": "10.1.128.0/20"})
    assert refused.status_code == 400
    assert refused.json()["vpc_cidr"] == ["10.1.128.0/20 overlaps auto's 10.1.0.0/16 in eu-west-1."]


def test_a_destroyed_environments_block_is_free_again():
    client = api_client(make_user())
    gone = create(client, "gone").json()
    Environment.objects.filter(name="gone").update(status="destroyed")

    assert create(client, "next").json()["vpc_cidr"] == gone["vpc_cidr"] == "10.0.0.0/16"


def test_each_region_has_its_pool_and_others_share_the_default_one(settings):
    settings.LAUNCHPAD_NETWORK_POOLS = {"eu-west-1": ["172.16.0.0/12"], "*": ["10.64.0.0/10"]}
    client = api_client(make_user())

    assert create(client, "in-europe").json()["vpc_cidr"] == "172.16.0.0/16"
    assert create(client, "in-virginia", region="us-east-1").json()["vpc_cidr"] == "10.64.0.0/16"
    # Another region's blocks are not in the way: each region has its own networks.
    assert create(client, "in-ohio", region="us-east-2").json()["vpc_cidr"] == "10.64.0.0/16"


def test_a_full_pool_is_a_400_naming_vpc_cidr_and_nothing_is_written(settings):
    settings.LAUNCHPAD_NETWORK_POOLS = {"*": ["10.0.0.0/15"]}
    client = api_client(make_user())
    create(client, "first"), create(client, "second")

    response = create(client, "third")

    assert response.status_code == 400
    assert response.json()["vpc_cidr"] == [
        "No free /16 is left in eu-west-1's network pool (10.0.0.0/15): give a vpc_cidr of your own."
    ]
    assert not Environment.objects.filter(name="third").exists()


def test_the_form_leaves_the_network_empty_and_the_environment_gets_a_free_block(client):
    client.force_login(make_user())

    page = client.get("/environments/new/?blueprint=sandbox").content.decode()
    response = client.post("/environments/new/?blueprint=sandbox", sandbox_form(name="formed", var_vpc_cidr=""))

    assert "Leave empty to get a free block" in page
    assert response.status_code == 302, response.content
    assert Environment.objects.get(name="formed").vpc_cidr == "10.0.0.0/16"


@pytest.mark.parametrize(
    ("pools", "prefix", "message"),
    [
        ("eu-west-1", "16", "'eu-west-1' must be region=CIDR"),
        ("*=10.0.0.1/8", "16", "'*=10.0.0.1/8' must be region=CIDR"),
        ("*=10.0.0.0/20", "16", "a network of /16 or larger"),
        ("*=10.0.0.0/8", "12", "LAUNCHPAD_NETWORK_BLOCK_PREFIX='12' must be a whole number from 16 to 24."),
    ],
)
def test_a_pool_setting_that_cannot_be_read_stops_launchpad_with_the_setting_named(monkeypatch, pools, prefix, message):
    monkeypatch.setenv("LAUNCHPAD_NETWORK_POOLS", pools)
    monkeypatch.setenv("LAUNCHPAD_NETWORK_BLOCK_PREFIX", prefix)

    with pytest.raises(ImproperlyConfigured, match=message.replace("*", r"\*").replace("[", r"\[")):
        launchpad_settings.network_pools(launchpad_settings.network_block_prefix())


@pytest.mark.django_db(transaction=True)
def test_environments_created_at_the_same_moment_never_get_the_same_or_overlapping_blocks(monkeypatch):
    """Against PostgreSQL: each definition holds its region's pool row (select_for_update) from the choice of its
    block until it is stored. The choice is slowed down so that, without that lock, every one would take the same."""
    owner, sandbox = make_user(), blueprint("sandbox")
    choose = models.free_network

    def slow_choice(region):
        chosen = choose(region)
        time.sleep(0.3)
        return chosen

    monkeypatch.setattr(models, "free_network", slow_choice)
    start, errors = threading.Barrier(6), []

    def define(number: int) -> None:
        try:
            start.wait()
            definition = check_definition(
                name=f"at-once-{number}", blueprint=sandbox, tier="dev", region="eu-west-1", variables={}
            )
            create_environment(definition, owner)
        except Exception as error:  # reported below: the test fails with it
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=define, args=(number,)) for number in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    blocks = [ipaddress.IPv4Network(e.vpc_cidr) for e in Environment.objects.filter(name__startswith="at-once-")]
    assert len(blocks) == 6
    assert not any(a.overlaps(b) for i, a in enumerate(blocks) for b in blocks[i + 1 :])
