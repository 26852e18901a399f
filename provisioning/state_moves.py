"""The table of state address moves between layouts of the module library, and which of them a state needs.

When a blueprint's layout changes (a component moves into a module, a resource becomes a ``for_each``
instance), Terraform 1.0 cannot be told so in the configuration (``moved`` blocks came with 1.1): an environment
applied with the old layout would be planned as "destroy everything, create it again". The moves are listed
instead in ``terraform_modules/blueprints/state-moves.json`` and made in the state before the plan
(``provisioning.engine.migrate_state``).

A layout may also hand a resource's object over to another resource: a separate ``aws_security_group_rule`` that
became an inline rule of its group. Its address then leaves the state (``terraform state rm``) and AWS keeps the
rule, which the group reads as its own on the next refresh; destroying the old resource would revoke it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from provisioning.workspace import BLUEPRINTS_DIR

STATE_MOVES_FILE = BLUEPRINTS_DIR / "state-moves.json"


@dataclass(frozen=True)
class StateMove:
    """One address (a module or a resource) of a blueprint's state that the layout ``version`` moved.

    With ``handed_over``, ``source`` leaves the state and ``destination`` is the resource that owns its object
    from that layout on (``{"from": …, "into": …}`` in the table), not an address ``source`` takes.
    """

    source: str
    destination: str
    version: int
    why: str
    handed_over: bool = False


def state_moves(blueprint: str, table: Path = STATE_MOVES_FILE) -> list[StateMove]:
    """Every move of ``blueprint``'s addresses, in the order they are made (oldest layout first)."""
    changes = json.loads(table.read_text())["changes"]
    return [
        StateMove(move["from"], move.get("to") or move["into"], change["version"], change["why"], "into" in move)
        for change in sorted(changes, key=lambda change: change["version"])
        for move in change["moves"].get(blueprint, [])
    ]


def _within(address: str, prefix: str) -> bool:
    """``address`` is ``prefix`` or lies inside it (a resource of module ``prefix``, an instance of resource ``prefix``)."""
    return address == prefix or address.startswith((prefix + ".", prefix + "["))


def pending_moves(addresses: Iterable[str], moves: Iterable[StateMove]) -> list[StateMove]:
    """The moves a state holding ``addresses`` (``terraform state list``) needs, in order.

    A move is needed when its source is in the state and its destination is not, a hand-over when its source is in
    the state; each needed move is followed through (a later move may name an address an earlier one made), so a
    state already moved needs none.
    """
    present = list(addresses)
    needed = []
    for move in moves:
        if not any(_within(a, move.source) for a in present):
            continue
        if move.handed_over:
            needed.append(move)
            present = [a for a in present if not _within(a, move.source)]
        elif not any(_within(a, move.destination) for a in present):
            needed.append(move)
            present = [move.destination + a[len(move.source) :] if _within(a, move.source) else a for a in present]
    return needed
