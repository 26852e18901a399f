"""What a Celery worker of Launchpad registers when it starts, found in a fresh interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def tasks_a_worker_discovers() -> set[str]:
    """The task names registered by autodiscovery alone, as in a worker that has just started."""
    discovered = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from portal.celery import app; "
            "app.loader.import_default_modules(); print('\\n'.join(app.tasks))",
        ],
        cwd=REPO,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.test_settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert discovered.returncode == 0, discovered.stderr
    return set(discovered.stdout.split())
