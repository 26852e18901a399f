"""The offline Terraform toolchain: binary discovery, mirror, CLI config, and init that never goes online."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from provisioning import toolchain
from provisioning.terraform import TerraformRunner

REPO = Path(__file__).resolve().parents[2]

MINIMAL_ROOT = """
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "3.39.0" }
  }
}
"""


def test_cli_config_with_mirror_never_installs_registry_providers_directly(tmp_path):
    text = toolchain.render_cli_config(tmp_path / "cache", tmp_path / "mirror")
    assert f'plugin_cache_dir = "{tmp_path / "cache"}"' in text
    assert f'path    = "{tmp_path / "mirror"}"' in text
    assert 'exclude = ["registry.terraform.io/*/*"]' in text


def test_cli_config_without_mirror_leaves_installation_to_the_registry(tmp_path):
    text = toolchain.render_cli_config(tmp_path / "cache", None)
    assert "provider_installation" not in text
    assert "plugin_cache_dir" in text


def test_mirror_holds_the_provider_zip_in_packed_layout_and_is_idempotent(tmp_path):
    zip_path = toolchain.find_provider_zip()
    mirror = toolchain.build_mirror(tmp_path / "mirror", zip_path)
    placed = mirror / "registry.terraform.io" / "hashicorp" / "aws" / zip_path.name
    assert placed.stat().st_size == zip_path.stat().st_size
    inode = placed.stat().st_ino
    toolchain.build_mirror(tmp_path / "mirror", zip_path)
    assert placed.stat().st_ino == inode


def test_configured_terraform_binary_must_be_executable(tmp_path, monkeypatch):
    not_executable = tmp_path / "terraform"
    not_executable.write_text("#!/bin/sh\n")
    monkeypatch.setenv("LAUNCHPAD_TERRAFORM_BIN", str(not_executable))
    with pytest.raises(toolchain.ToolchainError, match="not an executable file"):
        toolchain.find_terraform()
    not_executable.chmod(not_executable.stat().st_mode | stat.S_IXUSR)
    assert toolchain.find_terraform() == not_executable


def test_configured_provider_zip_must_be_a_provider_zip(tmp_path, monkeypatch):
    wrong = tmp_path / "provider.zip"
    wrong.write_bytes(b"PK")
    monkeypatch.setenv("LAUNCHPAD_TF_PROVIDER_ZIP", str(wrong))
    with pytest.raises(toolchain.ToolchainError, match="terraform-provider-aws"):
        toolchain.find_provider_zip()


def test_mirror_can_be_switched_off_for_online_users(tmp_path, monkeypatch):
    monkeypatch.setenv("LAUNCHPAD_TF_MIRROR", "off")
    chain = toolchain.prepare(tmp_path)
    assert chain.mirror_dir is None
    assert "provider_installation" not in chain.cli_config.read_text()


def test_unknown_mirror_setting_is_refused(monkeypatch):
    monkeypatch.setenv("LAUNCHPAD_TF_MIRROR", "maybe")
    with pytest.raises(toolchain.ToolchainError, match="must be 'on' or 'off'"):
        toolchain.mirror_enabled()


def test_init_installs_from_the_mirror_without_network_and_links_the_shared_cache(tmp_path):
    home = tmp_path / "home"
    chain = toolchain.prepare(home)
    # Any network attempt would go through this dead proxy and fail.
    offline = {**os.environ, "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    for name in ("first", "second"):
        workdir = tmp_path / name
        workdir.mkdir()
        (workdir / "main.tf").write_text(MINIMAL_ROOT)
        TerraformRunner(workdir, chain, env=offline).init()
        installed = workdir / ".terraform" / "providers" / "registry.terraform.io" / "hashicorp" / "aws" / "3.39.0"
        platform_dir = installed / "linux_amd64"
        # The workspace holds a link into the shared cache, not its own 170 MB copy of the provider.
        assert platform_dir.is_symlink()
        assert Path(os.path.realpath(platform_dir)).is_relative_to(chain.plugin_cache_dir.resolve())


def test_two_processes_preparing_a_fresh_home_at_once_both_get_one_whole_executable_provider(tmp_path):
    home = tmp_path / "home"
    prepare = f"from pathlib import Path; from provisioning import toolchain; toolchain.prepare(Path({str(home)!r}))"
    processes = [
        subprocess.Popen([sys.executable, "-c", prepare], cwd=REPO, stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    for process in processes:
        _, errors = process.communicate(timeout=300)  # two 170 MB unzips on a busy machine
        assert process.returncode == 0, errors
    platform_dir = home / "plugin-cache" / "registry.terraform.io" / "hashicorp" / "aws" / "3.39.0" / "linux_amd64"
    (binary,) = platform_dir.iterdir()
    assert binary.stat().st_mode & stat.S_IXUSR
    # Nothing half-done is left beside it: no staging folder, no partial zip in the mirror.
    assert [path.name for path in platform_dir.parent.iterdir()] == ["linux_amd64"]
    assert not list((home / "provider-mirror").rglob("*.partial"))
    with zipfile.ZipFile(toolchain.find_provider_zip()) as archive:
        assert binary.stat().st_size == archive.getinfo(binary.name).file_size
