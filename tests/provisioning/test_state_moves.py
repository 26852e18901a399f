"""The state's address moves between layouts of the module library: which moves a state needs, and making them
with `terraform state mv` (real Terraform, on a local state file) before a plan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provisioning.engine import migrate_state
from provisioning.hcl import load_directory
from provisioning.state_moves import STATE_MOVES_FILE, StateMove, pending_moves, state_moves
from provisioning.terraform import StateMoveError, TerraformRunner
from provisioning.workspace import MODULE_LIBRARY

AWS = 'provider["registry.terraform.io/hashicorp/aws"]'
WHY = "the layout changed"
ECS = "module.environment.module.ecs"


def move(source: str, destination: str) -> StateMove:
    return StateMove(source, destination, 2, WHY)


def hand_over(source: str, owner: str) -> StateMove:
    return StateMove(source, owner, 3, WHY, handed_over=True)


MOVES = [
    move("module.network", "module.environment.module.network"),
    move("module.ecs", ECS),
    move(f"{ECS}.aws_ecs_service.web_api", f'{ECS}.aws_ecs_service.this["web-api"]'),
]


def resource(module: str, type_: str, name: str, mode: str = "managed") -> dict:
    return {
        "module": module,
        "mode": mode,
        "type": type_,
        "name": name,
        "provider": AWS,
        "instances": [{"schema_version": 0, "attributes": {"id": f"{type_}-{name}"}}],
    }


OLD_LAYOUT = [
    resource("module.network", "aws_vpc", "this"),
    resource("module.ecs", "aws_ecs_cluster", "this"),
    resource("module.ecs", "aws_ecs_service", "web_api"),
    resource("module.ecs", "aws_region", "current", mode="data"),
]


@pytest.fixture
def local_state(toolchain, tmp_path) -> TerraformRunner:
    """A root with no backend (local state) whose terraform.tfstate holds the old layout's addresses."""
    (tmp_path / "main.tf").write_text("terraform {}\n")
    state = {
        "version": 4,
        "terraform_version": "1.0.3",
        "serial": 1,
        "lineage": "test-lineage",
        "outputs": {},
        "resources": OLD_LAYOUT,
    }
    (tmp_path / "terraform.tfstate").write_text(json.dumps(state))
    return TerraformRunner(tmp_path, toolchain)


def write_table(path: Path, moves: list[tuple[str, str]], blueprint: str = "sandbox") -> Path:
    table = {
        "version": 2,
        "changes": [{"version": 2, "why": WHY, "moves": {blueprint: [{"from": f, "to": t} for f, t in moves]}}],
    }
    path.write_text(json.dumps(table))
    return path


class Sink:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, stream: str, line: str) -> None:
        self.lines.append(line)


def test_a_move_applies_when_its_source_is_in_the_state_and_its_destination_is_not():
    addresses = ["module.network.aws_vpc.this", "module.ecs.aws_ecs_service.web_api", "module.ecs.data.aws_region.x"]
    assert pending_moves(addresses, MOVES) == MOVES


def test_a_move_follows_the_addresses_an_earlier_move_made():
    # The service is listed under its old module; the module move comes first and the resource move still applies.
    assert pending_moves(["module.ecs.aws_ecs_service.web_api"], MOVES) == MOVES[1:]


def test_a_state_already_moved_needs_no_move():
    moved = ["module.environment.module.network.aws_vpc.this", f'{ECS}.aws_ecs_service.this["web-api"]']
    assert pending_moves(moved, MOVES) == []


def test_an_empty_state_needs_no_move():
    assert pending_moves([], MOVES) == []


def test_a_move_whose_destination_is_already_taken_is_left_alone():
    addresses = ["module.network.aws_vpc.this", "module.environment.module.network.aws_vpc.this"]
    assert pending_moves(addresses, MOVES[:1]) == []


SG = "module.environment.module.security_groups"
HAND_OVER = hand_over(f"{SG}.aws_security_group_rule.api_ingress_http", f"{SG}.aws_security_group.api")


def test_a_resource_handed_over_to_another_leaves_the_state_though_its_owner_is_there():
    addresses = [f"{SG}.aws_security_group.api", f"{SG}.aws_security_group_rule.api_ingress_http"]
    assert pending_moves(addresses, [HAND_OVER]) == [HAND_OVER]
    assert pending_moves([f"{SG}.aws_security_group.api"], [HAND_OVER]) == []


def test_a_hand_over_follows_the_module_move_of_an_earlier_layout():
    old = ["module.security_groups.aws_security_group_rule.api_ingress_http"]
    module_move = move("module.security_groups", SG)
    assert pending_moves(old, [module_move, HAND_OVER]) == [module_move, HAND_OVER]


def test_a_module_address_does_not_cover_a_module_whose_name_starts_alike():
    assert pending_moves(["module.network_extra.aws_vpc.this"], MOVES[:1]) == []


def test_the_table_lists_each_blueprints_moves_oldest_layout_first(tmp_path):
    table = tmp_path / "moves.json"
    table.write_text(
        json.dumps(
            {
                "version": 3,
                "changes": [
                    {"version": 3, "why": "second", "moves": {"full": [{"from": "module.b", "to": "module.c"}]}},
                    {"version": 2, "why": "first", "moves": {"full": [{"from": "module.a", "to": "module.b"}]}},
                ],
            }
        )
    )
    assert state_moves("full", table) == [
        StateMove("module.a", "module.b", 2, "first"),
        StateMove("module.b", "module.c", 3, "second"),
    ]
    assert state_moves("sandbox", table) == []


def test_the_table_marks_a_hand_over_by_into(tmp_path):
    table = tmp_path / "moves.json"
    table.write_text(
        json.dumps(
            {"version": 3, "changes": [{"version": 3, "why": WHY, "moves": {"full": [{"from": "a.x", "into": "b.y"}]}}]}
        )
    )
    assert state_moves("full", table) == [StateMove("a.x", "b.y", 3, WHY, handed_over=True)]


@pytest.mark.parametrize("blueprint", ["full", "sandbox"])
def test_every_move_of_the_shipped_table_leads_to_a_module_or_resource_the_blueprint_has(blueprint):
    root = MODULE_LIBRARY / "blueprints" / blueprint
    for entry in state_moves(blueprint, STATE_MOVES_FILE):
        directory = root
        parts = entry.destination.split(".")
        while parts[:1] == ["module"]:
            calls = {name: body for call in load_directory(directory).get("module", []) for name, body in call.items()}
            assert parts[1] in calls, f"{entry.destination}: {directory.name} calls no module {parts[1]}"
            directory = (directory / calls[parts[1]]["source"]).resolve()
            parts = parts[2:]
        if parts:
            type_, name = parts[0], parts[1].split("[")[0]
            declared = {
                (kind, label)
                for block in load_directory(directory).get("resource", [])
                for kind, bodies in block.items()
                for label in bodies
            }
            assert (type_, name) in declared, f"{entry.destination}: {directory.name} declares no {type_}.{name}"
            if entry.handed_over:
                # The resource handed over is gone from the layout: a plan would otherwise create it again.
                handed = entry.source.rsplit(".", 2)[-2:]
                assert (handed[0], handed[1]) not in declared, f"{entry.source} is still declared"


def test_migrating_moves_the_old_addresses_says_so_and_a_second_migration_moves_nothing(local_state, tmp_path):
    table = write_table(tmp_path / "moves.json", [(m.source, m.destination) for m in MOVES])
    sink = Sink()

    assert migrate_state(local_state, "sandbox", "alice-dev", sink, table) == 3

    assert set(local_state.state_addresses()) == {
        "module.environment.module.network.aws_vpc.this",
        f"{ECS}.aws_ecs_cluster.this",
        f'{ECS}.aws_ecs_service.this["web-api"]',
        f"{ECS}.data.aws_region.current",
    }
    assert "Moved module.network to module.environment.module.network." in sink.lines
    assert f'Moved {ECS}.aws_ecs_service.web_api to {ECS}.aws_ecs_service.this["web-api"].' in sink.lines
    assert "moving 3 addresses" in sink.lines[0] and WHY in sink.lines[0]

    again = Sink()
    assert migrate_state(local_state, "sandbox", "alice-dev", again, table) == 0
    assert again.lines == []


def test_a_hand_over_removes_the_old_resource_from_the_state_and_says_so(local_state, tmp_path):
    table = tmp_path / "moves.json"
    table.write_text(
        json.dumps(
            {
                "version": 3,
                "changes": [
                    {
                        "version": 3,
                        "why": WHY,
                        "moves": {"sandbox": [{"from": "module.ecs.aws_ecs_service.web_api", "into": f"{ECS}.x"}]},
                    }
                ],
            }
        )
    )
    sink = Sink()

    assert migrate_state(local_state, "sandbox", "alice-dev", sink, table) == 1

    assert "module.ecs.aws_ecs_service.web_api" not in local_state.state_addresses()
    assert "module.ecs.aws_ecs_cluster.this" in local_state.state_addresses()
    assert sink.lines[-1] == (
        f"Handed module.ecs.aws_ecs_service.web_api over to {ECS}.x: gone from the state, unchanged in AWS."
    )
    assert migrate_state(local_state, "sandbox", "alice-dev", Sink(), table) == 0


def test_a_blueprint_without_moves_reads_nothing_of_the_state(local_state, tmp_path):
    table = write_table(tmp_path / "moves.json", [("module.network", "module.x")], blueprint="full")
    assert migrate_state(local_state, "sandbox", "alice-dev", Sink(), table) == 0
    assert "module.network.aws_vpc.this" in local_state.state_addresses()


def test_no_state_at_all_lists_no_address(toolchain, tmp_path):
    (tmp_path / "main.tf").write_text("terraform {}\n")
    assert TerraformRunner(tmp_path, toolchain).state_addresses() == []


def test_a_failing_state_move_stops_with_a_sentence_naming_the_move(local_state, tmp_path):
    # Terraform refuses to move a resource to an address of another type.
    table = write_table(
        tmp_path / "moves.json",
        [("module.network", "module.environment.module.network"), ("module.ecs.aws_ecs_cluster.this", "aws_vpc.x")],
    )
    sink = Sink()

    with pytest.raises(StateMoveError) as failure:
        migrate_state(local_state, "sandbox", "alice-dev", sink, table)

    message = str(failure.value)
    assert message.startswith(
        "Launchpad could not move module.ecs.aws_ecs_cluster.this to aws_vpc.x in the environment's state, "
        "so it made no plan (terraform state mv failed: Invalid state move request"
    )
    assert "Cannot move module.ecs.aws_ecs_cluster.this to aws_vpc.x" in failure.value.output
    assert "make this move by hand with `terraform state mv`" in message
    assert (failure.value.source, failure.value.destination) == ("module.ecs.aws_ecs_cluster.this", "aws_vpc.x")
    # The move before it is saved; the failed one changed nothing.
    addresses = local_state.state_addresses()
    assert "module.environment.module.network.aws_vpc.this" in addresses
    assert "module.ecs.aws_ecs_cluster.this" in addresses
    assert sink.lines[-1] == "Moved module.network to module.environment.module.network."
