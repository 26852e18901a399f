"""The emulator's AWS state survives a restart: every moto backend is pickled into the state file and restored.

Why a snapshot of moto's backends and not moto's request recorder: replaying recorded requests runs every
Create* call again, and moto gives each new resource new random ids (vpc-…, subnet-…, ARNs with random
suffixes, ECS deployment ids), so the restored account would no longer match Terraform's state or the ids
Launchpad keeps for its environments. A pickle of the backends brings back the very objects, ids and all,
and everything moto keeps beside the API's own data (the fidelity patches' parameter groups and origin
access identities live in the backends' ``__dict__`` and come along).

What needs help to pickle (cloudpickle already pickles lambdas by value, e.g. SSM's tag defaultdict factory):
locks (a fresh, unlocked one on restore), cryptography keys (KMS's: as PEM), references to moto's own
BackendDict registries (the live registry, not a copy), defaultdict subclasses whose ``__init__`` takes other
arguments (SSM's ParameterDict). A snapshot is taken while no request is under way (:class:`RequestGate`),
so it never holds half a request. Unpickling runs code the file names, which is why the file is refused
unless it decrypts and authenticates under the key (Fernet's HMAC): only a holder of the key can write one.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import importlib
import io
import json
import logging
import pickle
import re
import sys
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import cloudpickle
import moto
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes
from moto.core.base_backend import AccountSpecificBackend, BackendDict, backend_lock
from moto.iam.aws_managed_policies import aws_managed_policies_data
from moto.iam.models import PolicyVersion

from provisioning import files
from provisioning.emulator import state_file
from provisioning.emulator.state_file import Header, StateRefused

logger = logging.getLogger(__name__)

# A change is saved at most this many seconds after it happened (and not at all when nothing changed).
DEFAULT_SAVE_INTERVAL = 5.0
# How long a periodic save waits for the requests under way to end; it tries again at the next interval.
DRAIN_TIMEOUT = 2.0
# A stop saves even if a request is still under way after this long (the server no longer takes new ones).
FINAL_DRAIN_TIMEOUT = 10.0
# The emulator's own status endpoint: an underscore never starts an S3 bucket name, so it cannot shadow one.
STATUS_PATH = "/_launchpad/emulator-state"

_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))
_PRIVATE_KEY_TYPES = tuple(getattr(PrivateKeyTypes, "__args__", ()))
_PUBLIC_KEY_TYPES = tuple(getattr(PublicKeyTypes, "__args__", ()))
# Actions that only read: every AWS protocol names them so (DescribeVpcs, ListQueues, GetItem, Query, Scan).
_READ_ACTIONS = ("Describe", "List", "Get", "BatchGet", "Query", "Scan")
_READ_METHODS = {"GET", "HEAD", "OPTIONS"}
# smithy-rpc-v2-cbor (botocore's CloudWatch): the action is the path's last segment.
_RPC_V2_PATH = re.compile(r"^/service/[^/]+/operation/([^/]+)$")
# Query-protocol forms (EC2, IAM, RDS…) are small; a bigger body is not read, its request counts as a change.
_MAX_FORM_BYTES = 4 * 1024 * 1024
# SQS long polling keeps a request open for up to 20 s: it must not hold saves (or the server) back.
_UNGATED_ACTIONS = {"ReceiveMessage"}


# Reconstruction functions named in the pickle: module-level, so the pickle refers to them by name.
def _new_lock(reentrant: bool) -> Any:
    return threading.RLock() if reentrant else threading.Lock()


def _private_key(pem: bytes) -> Any:
    return serialization.load_pem_private_key(pem, password=None)


def _public_key(pem: bytes) -> Any:
    return serialization.load_pem_public_key(pem)


def _certificate(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


def _registry(name: str) -> BackendDict:
    module, _, attribute = name.partition(":")
    return getattr(importlib.import_module(module), attribute)


def _account_backends(name: str, account_id: str) -> AccountSpecificBackend:
    return _registry(name)[account_id]


@functools.cache
def _bundled_policy_documents() -> dict[str, str]:
    """The documents of the AWS managed policies moto ships, serialised as moto serialises them (from_data)."""
    return {name: json.dumps(data.get("Document")) for name, data in json.loads(aws_managed_policies_data).items()}


def _bundled_policy_version(name: str) -> PolicyVersion:
    version = PolicyVersion.__new__(PolicyVersion)
    version.document = _bundled_policy_documents()[name]
    return version


def _empty_defaultdict(cls: type[defaultdict], factory: Callable[[], Any] | None) -> defaultdict:
    instance = cls.__new__(cls)
    instance.default_factory = factory
    return instance


def registries() -> dict[str, BackendDict]:
    """Every BackendDict of the moto modules loaded so far, by ``module:attribute`` (where it is defined)."""
    found: dict[int, tuple[str, BackendDict]] = {}
    for module_name, module in sorted(sys.modules.items()):
        if not module_name.startswith("moto.") or module is None:
            continue
        for attribute, value in list(vars(module).items()):
            if isinstance(value, BackendDict):
                defined_here = module_name == value.backend.__module__
                if id(value) not in found or defined_here:
                    found[id(value)] = (f"{module_name}:{attribute}", value)
    return dict(found.values())


def _reduce_lock(pickler: _StatePickler, obj: Any) -> Any:
    return _new_lock, (isinstance(obj, _LOCK_TYPES[1]),)


def _reduce_registry(pickler: _StatePickler, obj: BackendDict) -> Any:
    name = pickler.names.get(id(obj))
    return (_registry, (name,)) if name else NotImplemented


def _reduce_account_backends(pickler: _StatePickler, obj: AccountSpecificBackend) -> Any:
    for name in pickler.names.values():
        if dict.get(_registry(name), obj.account_id) is obj:
            return _account_backends, (name, obj.account_id)
    return NotImplemented


def _reduce_policy_version(pickler: _StatePickler, obj: PolicyVersion) -> Any:
    # moto loads AWS's 1,582 managed policies into each partition's IAM backend (24 MB of documents in six
    # copies): a document as moto ships it is named, not copied.
    if ":iam::aws:policy/" not in obj.policy_arn:
        return NotImplemented
    name = obj.policy_arn.rsplit("/", 1)[-1]
    if obj.document != _bundled_policy_documents().get(name):
        return NotImplemented
    return _bundled_policy_version, (name,), {key: value for key, value in vars(obj).items() if key != "document"}


def _reduce_defaultdict_subclass(pickler: _StatePickler, obj: defaultdict) -> Any:
    return _empty_defaultdict, (type(obj), obj.default_factory), obj.__dict__ or None, None, iter(obj.items())


def _reduce_private_key(pickler: _StatePickler, obj: Any) -> Any:
    encoding, no_encryption = serialization.Encoding.PEM, serialization.NoEncryption()
    return _private_key, (obj.private_bytes(encoding, serialization.PrivateFormat.PKCS8, no_encryption),)


def _reduce_public_key(pickler: _StatePickler, obj: Any) -> Any:
    return _public_key, (obj.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),)


def _reduce_certificate(pickler: _StatePickler, obj: x509.Certificate) -> Any:
    return _certificate, (obj.public_bytes(serialization.Encoding.PEM),)


# (types, reducer), first match wins; ABCs included (the cryptography key types are ABCs).
_REDUCERS: list[tuple[tuple[type, ...], Callable[[_StatePickler, Any], Any]]] = [
    (_LOCK_TYPES, _reduce_lock),
    ((BackendDict,), _reduce_registry),
    ((AccountSpecificBackend,), _reduce_account_backends),
    ((PolicyVersion,), _reduce_policy_version),
    (_PRIVATE_KEY_TYPES, _reduce_private_key),
    (_PUBLIC_KEY_TYPES, _reduce_public_key),
    ((x509.Certificate,), _reduce_certificate),
]


class _StatePickler(cloudpickle.Pickler):
    """cloudpickle, plus what moto's backends hold that pickle cannot carry as it is."""

    # The reducer of each type met so far: an isinstance test against ABCs for each of the ~50,000 objects
    # of a snapshot would take longer than the pickling itself.
    _reducer_of_type: dict[type, Callable[[_StatePickler, Any], Any] | None] = {}

    def __init__(self, file: io.BytesIO, names: dict[int, str]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.names = names

    def reducer_override(self, obj: Any) -> Any:
        cls = type(obj)
        try:
            reducer = self._reducer_of_type[cls]
        except KeyError:
            reducer = self._reducer_of_type[cls] = _reducer_for(cls)
        if reducer is not None:
            reduced = reducer(self, obj)
            if reduced is not NotImplemented:
                return reduced
        return super().reducer_override(obj)


def _reducer_for(cls: type) -> Callable[[_StatePickler, Any], Any] | None:
    for types, reducer in _REDUCERS:
        if types and issubclass(cls, types):
            return reducer
    if issubclass(cls, defaultdict) and cls is not defaultdict:
        # defaultdict pickles as cls(factory), which a subclass with another __init__ (SSM's ParameterDict) refuses.
        return _reduce_defaultdict_subclass
    return None


def snapshot() -> bytes:
    """Pickle every backend moto holds data in: ``{registry: {account: {region: backend}}}``.

    Call it while no request is under way (see :class:`RequestGate`): moto's objects change under requests.
    """
    named = registries()
    names = {id(registry): name for name, registry in named.items()}
    with backend_lock:
        # BackendDict._instances: the registries holding at least one account since the start or last reset.
        in_use = list(BackendDict._instances)
    state = {}
    for registry in in_use:
        name = names.get(id(registry))
        if name is None:
            raise RuntimeError(f"moto's {registry.service_name} backends are not a module attribute: cannot name them")
        state[name] = {account: dict(regions) for account, regions in registry.items()}
    buffer = io.BytesIO()
    _StatePickler(buffer, names).dump(state)
    return buffer.getvalue()


def restore(pickled: bytes) -> dict[str, Any]:
    """Put the backends of a :func:`snapshot` in place of moto's; what was restored (services, regions).

    Nothing is put in place unless the whole snapshot unpickles.
    """
    state: dict[str, dict[str, dict[str, Any]]] = pickle.loads(pickled)  # noqa: S301 (authenticated by Fernet)
    services, regions = set(), set()
    with backend_lock:
        for name, accounts in state.items():
            registry = _registry(name)
            services.add(name.split(".")[1])
            for account_id, backends in accounts.items():
                account = registry[account_id]  # registers the registry for moto's reset, as a request would
                dict.clear(account)
                dict.update(account, backends)
                regions.update(region for region in backends if region not in _PARTITIONS)
    return {"services": sorted(services), "regions": sorted(regions)}


# Global services (IAM, CloudFront…) keep one backend per partition, named after it.
_PARTITIONS = {"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc", "global"}


def request_action(environ: dict[str, Any]) -> str | None:
    """The AWS action a request names (X-Amz-Target, an RPC v2 path or a query-protocol Action), else None.

    A query-protocol form body is read to find its Action and put back for moto to read again.
    """
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    rpc = _RPC_V2_PATH.match(environ.get("PATH_INFO") or "")
    if rpc:
        return rpc.group(1)
    action = parse_qs(environ.get("QUERY_STRING") or "").get("Action")
    if action:
        return action[0]
    content_type = environ.get("CONTENT_TYPE") or ""
    if environ.get("REQUEST_METHOD") == "POST" and content_type.startswith("application/x-www-form-urlencoded"):
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None
        if 0 < length <= _MAX_FORM_BYTES:
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(body)
            action = parse_qs(body.decode("utf-8", "replace")).get("Action")
            return action[0] if action else None
    return None


def changes_state(method: str, action: str | None) -> bool:
    """Whether a request may change the emulator's state (when unsure: yes, so nothing goes unsaved)."""
    if action is None:
        # REST services (S3, CloudFront, API Gateway, moto's own API): the method says it.
        return method.upper() not in _READ_METHODS
    return not action.startswith(_READ_ACTIONS)


class RequestGate:
    """Requests run side by side; a snapshot runs alone, after the requests under way, holding new ones back.

    A snapshot that cannot start within its timeout (a request that does not end) gives up rather than hold
    every other request back; the next interval tries again.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._active = 0
        self._exclusive = False

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        """Held by a request while moto handles it."""
        with self._condition:
            self._condition.wait_for(lambda: not self._exclusive)
            self._active += 1
        try:
            yield
        finally:
            with self._condition:
                self._active -= 1
                self._condition.notify_all()

    @contextlib.contextmanager
    def exclusive(self, timeout: float) -> Iterator[bool]:
        """Yield True once no request is under way (new ones wait), or False after ``timeout`` seconds."""
        with self._condition:
            self._condition.wait_for(lambda: not self._exclusive)
            self._exclusive = True
            drained = self._condition.wait_for(lambda: self._active == 0, timeout)
        try:
            yield drained
        finally:
            with self._condition:
                self._exclusive = False
                self._condition.notify_all()


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class PersistentState:
    """The emulator's state file: restored at start, saved after changes (debounced) and at stop.

    Wrap the server's WSGI application with :meth:`wsgi`, call :meth:`restore` before serving, :meth:`start`
    the saver, and :meth:`stop` after the server stopped (the last save).
    """

    def __init__(self, path: Path, key: str | None, save_interval: float = DEFAULT_SAVE_INTERVAL) -> None:
        self.path = Path(path).resolve()
        self._cipher = state_file.fernet(key)
        if save_interval <= 0:
            raise ValueError("The save interval must be a positive number of seconds.")
        self.save_interval = save_interval
        self.gate = RequestGate()
        self._changes = 0
        self._saved_changes = 0
        self._count_lock = threading.Lock()
        self._save_lock = threading.Lock()
        self._stopping = threading.Event()
        self._saver: threading.Thread | None = None
        self.status: dict[str, Any] = {
            "state_file": str(self.path),
            "restored": None,
            "refused": None,
            "moved_to": None,
            "saves": 0,
            "last_saved_at": None,
            "last_error": None,
        }

    def restore(self) -> None:
        """Restore the backends from the file; a file that cannot be used is moved aside and the emulator starts empty."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        state_file.remove_leftovers(self.path)
        try:
            token = state_file.read(self.path)
            if token is None:
                logger.info("No saved AWS state in %s: starting empty.", self.path)
                return
            header, pickled = state_file.decode(token, self._cipher, moto.__version__)
            try:
                restored = restore(pickled)
            except Exception as error:  # whatever the file's bytes make pickle raise
                raise StateRefused(f"its snapshot cannot be restored ({type(error).__name__})") from None
        except StateRefused as refused:
            moved = state_file.move_aside(self.path) if self.path.exists() else None
            self.status.update(refused=refused.reason, moved_to=str(moved) if moved else None)
            logger.error("%s", state_file.describe(self.status))
            return
        self.status["restored"] = {"saved_at": header.saved_at, **restored}
        logger.info("%s", state_file.describe(self.status))

    def wsgi(self, app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
        """``app`` counting the requests that change state, answering :data:`STATUS_PATH` with :meth:`report`."""

        def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            if environ.get("PATH_INFO") == STATUS_PATH:
                body = json.dumps(self.report()).encode()
                start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
                return [body]
            action = request_action(environ)
            gate = contextlib.nullcontext() if action in _UNGATED_ACTIONS else self.gate.shared()
            try:
                with gate:
                    return app(environ, start_response)
            finally:
                if changes_state(environ.get("REQUEST_METHOD") or "GET", action):
                    with self._count_lock:
                        self._changes += 1

        return application

    def report(self) -> dict[str, Any]:
        """What was restored or refused at start, and how saving goes (no AWS data, no secret)."""
        return {**self.status, "unsaved_changes": self._changes != self._saved_changes}

    def save(self, drain_timeout: float = DRAIN_TIMEOUT, force: bool = False) -> bool:
        """Write the state file if anything changed since the last save; False when it could not be written.

        ``force``: save even when requests are still under way after ``drain_timeout`` (at stop).
        """
        with self._save_lock:
            if self._changes == self._saved_changes:
                return True
            try:
                with self.gate.exclusive(drain_timeout) as drained:
                    if not drained and not force:
                        logger.info("State not saved yet: requests still under way; trying again.")
                        return False
                    changes = self._changes
                    pickled = snapshot()
                header = Header(moto_version=moto.__version__, saved_at=_now())
                files.write_atomically(self.path, state_file.encode(pickled, header, self._cipher))
            except Exception as error:  # a failed save must not stop the emulator; the next one tries again
                self.status["last_error"] = f"{type(error).__name__}: {error}"
                logger.error("Could not save the AWS state to %s: %s", self.path, self.status["last_error"])
                return False
            self._saved_changes = changes
            self.status.update(saves=self.status["saves"] + 1, last_saved_at=header.saved_at, last_error=None)
            logger.info("AWS state saved to %s (%s bytes of snapshot).", self.path, f"{len(pickled):,}")
            return True

    def start(self) -> None:
        """Save in the background every ``save_interval`` seconds, when something changed."""

        def run() -> None:
            while not self._stopping.wait(self.save_interval):
                self.save()

        self._saver = threading.Thread(target=run, name="emulator-state-saver", daemon=True)
        self._saver.start()

    def stop(self) -> bool:
        """Stop the saver and save what changed since its last save; whether the file holds the final state."""
        self._stopping.set()
        if self._saver is not None:
            self._saver.join()
        return self.save(drain_timeout=FINAL_DRAIN_TIMEOUT, force=True)
