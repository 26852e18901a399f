"""Fidelity patches for moto, one module per AWS service.

A patch is a function decorated with :func:`fidelity_patch`; its docstring names the AWS behaviour it
restores. :func:`apply_all` imports every module of this package and applies each patch once.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

import moto

MOTO_VERSION = "5.2.5"


class EmulatorVersionError(RuntimeError):
    """The installed moto is not the version the fidelity patches were written for."""


@dataclass(frozen=True)
class FidelityPatch:
    name: str
    behaviour: str
    apply: Callable[[], None]


_REGISTRY: dict[str, FidelityPatch] = {}
_APPLIED: set[str] = set()


def fidelity_patch(func: Callable[[], None]) -> Callable[[], None]:
    """Register ``func`` as a patch; its module and name identify it, its docstring says why."""
    name = f"{func.__module__.rsplit('.', 1)[-1]}.{func.__name__}"
    if not (func.__doc__ or "").strip():
        raise ValueError(f"Fidelity patch {name} needs a docstring naming the AWS behaviour it restores.")
    _REGISTRY[name] = FidelityPatch(name=name, behaviour=func.__doc__.strip().splitlines()[0], apply=func)
    return func


def registered() -> list[FidelityPatch]:
    """Every known patch, after importing all patch modules."""
    _import_all()
    return sorted(_REGISTRY.values(), key=lambda p: p.name)


def apply_all() -> list[FidelityPatch]:
    """Apply every patch once (idempotent) and return them."""
    if moto.__version__ != MOTO_VERSION:
        raise EmulatorVersionError(
            f"The emulator patches are written for moto {MOTO_VERSION}, found {moto.__version__}: "
            "install the version pinned in requirements.txt."
        )
    patches = registered()
    for patch in patches:
        if patch.name not in _APPLIED:
            patch.apply()
            _APPLIED.add(patch.name)
    return patches


def _import_all() -> None:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
