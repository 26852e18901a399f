"""The state store Launchpad creates per region is named from the configured prefix, not a fixed one."""

from __future__ import annotations

import pytest

from provisioning import engine


class Rendered(Exception):
    """Stops the bootstrap once its workspace's variables are known (no Terraform, no AWS)."""


def test_the_bootstrap_names_the_bucket_and_lock_table_from_the_prefix_it_is_given(monkeypatch, tmp_path):
    asked, rendered = [], {}
    monkeypatch.setattr(engine, "_state_store_exists", lambda store, region, endpoint: asked.append(store) or False)

    def render(root, directory, variables, backend=None):
        rendered.update(variables)
        raise Rendered

    monkeypatch.setattr(engine, "render_workspace", render)
    with pytest.raises(Rendered):
        engine.ensure_state_store("eu-west-1", None, None, tmp_path, lambda *line: None, name_prefix="acme")

    expected = engine.StateStore(bucket="acme-launchpad-tfstate-eu-west-1", lock_table="acme-launchpad-tflock")
    assert asked == [expected, expected]
    assert rendered["name_prefix"] == "acme"
    assert (rendered["bucket_name"], rendered["lock_table_name"]) == (expected.bucket, expected.lock_table)


def test_an_existing_store_of_the_prefix_is_used_as_it_is(monkeypatch, tmp_path):
    monkeypatch.setattr(engine, "_state_store_exists", lambda store, region, endpoint: store.bucket.startswith("acme"))

    store = engine.ensure_state_store("us-east-1", None, None, tmp_path, lambda *line: None, name_prefix="acme")

    assert store == engine.StateStore(bucket="acme-launchpad-tfstate-us-east-1", lock_table="acme-launchpad-tflock")
