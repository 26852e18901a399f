"""Launchpad's local AWS emulator: moto in server mode, with fidelity patches applied first.

Each patch in ``provisioning.emulator.patches`` makes moto behave the way AWS documents where
moto falls short (see terraform_modules/README.md, "Emulator gaps"). Patches are pinned to the
moto version they were written for: on any other version the emulator refuses to start instead of
silently running unpatched.
"""

from provisioning.emulator.server import EmulatorProcess, serve

__all__ = ["EmulatorProcess", "serve"]
