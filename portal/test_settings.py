"""Settings for the test suite: the real settings with a throwaway key (never used outside tests)."""

import os

os.environ.setdefault("SECRET_KEY", "launchpad-tests-only-not-a-secret-0123456789abcdef")
# pytest-xdist runs the suite in worker processes gw0, gw1…: each keeps its files (workspaces, the embedded
# broker's folders, beat's schedule) apart. The stack a test starts inherits both variables, so it agrees.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
os.environ.setdefault(
    "LAUNCHPAD_DATA_DIR", os.path.join(os.path.dirname(__file__), "..", ".launchpad", "test", XDIST_WORKER)
)

from portal.settings import *  # noqa: E402,F403
from portal.settings import DATABASES  # noqa: E402

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not memory: the Celery worker of the integration tests must see the same database.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-db.sqlite3")}  # noqa: F405
# The test client speaks plain http; tests/security run with the production values.
SECURE_SSL_REDIRECT = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405  (whitenoise warns about a missing folder)
if XDIST_WORKER:
    # One broker (Redis in CI) serves every xdist worker: each worker's Celery stack has a queue of its own, or a
    # worker of one would run the runs of the other's database.
    CELERY_TASK_DEFAULT_QUEUE = f"launchpad-tests-{XDIST_WORKER}"
    for cache in CACHES.values():  # noqa: F405
        # A shared Redis cache (CACHE_URL) too: the workers' throttling counters must not add up.
        cache["KEY_PREFIX"] = XDIST_WORKER
