"""The layers of docs/architecture.md hold: the import contracts (pyproject.toml, [tool.importlinter]) are kept,
no module of portal/ or provisioning/ is part of an import cycle (imports inside functions count), and a worker
finds every task the beat schedules by autodiscovery alone."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
from django.conf import settings

from tests.support.worker import tasks_a_worker_discovers

REPO = Path(__file__).resolve().parent.parent


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The groups of modules that import each other, directly or through others (Tarjan's strongly connected
    components of the graph of direct imports, without recursion)."""
    modules = sorted(graph.modules)
    edges = {module: sorted(graph.find_modules_directly_imported_by(module) & set(modules)) for module in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []
    for root in modules:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            module, position = work.pop()
            if position == 0:
                index[module] = low[module] = len(index)
                stack.append(module)
                on_stack.add(module)
            if position < len(edges[module]):
                work.append((module, position + 1))
                imported = edges[module][position]
                if imported not in index:
                    work.append((imported, 0))
                elif imported in on_stack:
                    low[module] = min(low[module], index[imported])
                continue
            if low[module] == index[module]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == module:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
    return cycles


def test_the_import_contracts_are_kept():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports")], cwd=REPO, capture_output=True, text=True, timeout=300
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def contracts() -> list[dict]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def test_docs_architecture_names_every_contract_and_draws_the_layers_in_their_order():
    docs = (REPO / "docs" / "architecture.md").read_text()
    table = re.findall(r"^\| (.+?) \| .+ \|$", docs.split("## Layers")[1].split("## Jobs")[0], re.MULTILINE)
    (layers,) = [contract["layers"] for contract in contracts() if contract["type"] == "layers"]
    written = ", ".join(f"`{layer.replace('(', '').replace(')', '')}`" for layer in layers)

    assert table[2:] == [contract["name"] for contract in contracts()]  # after the header and its rule
    assert f"layers, top first: {written} |" in docs


def test_no_module_of_portal_or_provisioning_is_part_of_an_import_cycle():
    # No cache: a stale .grimp_cache once hid a cycle.
    graph = grimp.build_graph("portal", "provisioning", exclude_type_checking_imports=True, cache_dir=None)

    assert import_cycles(graph) == []


def test_a_cycle_through_an_import_inside_a_function_is_found():
    graph = grimp.ImportGraph()
    for module in ("app.models", "app.tasks", "app.delivery"):
        graph.add_module(module)
    graph.add_import(importer="app.tasks", imported="app.delivery")
    graph.add_import(importer="app.delivery", imported="app.models")
    graph.add_import(importer="app.models", imported="app.tasks")  # the import a function of models.py made

    assert import_cycles(graph) == [["app.delivery", "app.models", "app.tasks"]]


def test_a_worker_finds_every_scheduled_task_by_autodiscovery_alone():
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    queued = {
        "portal.runs.tasks.execute_run",
        "portal.environments.tasks.check_drift",
        "portal.audit.tasks.run_live_audit",
        "portal.notifications.tasks.deliver_webhook",
    }

    assert scheduled | queued <= tasks_a_worker_discovers()
