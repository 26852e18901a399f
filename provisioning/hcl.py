"""Read Terraform configuration with a real HCL parser (python-hcl2), blocks merged across a directory."""

from __future__ import annotations

from pathlib import Path

import hcl2

_OPTIONS = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)


def load_directory(directory: Path) -> dict[str, list[dict]]:
    """Every top-level block of ``directory``'s .tf files, by block type, in file order.

    Labels become keys (``{"variable": [{"name": {...}}]}``); expressions stay as ``${...}`` strings.
    """
    merged: dict[str, list[dict]] = {}
    for tf_file in sorted(Path(directory).glob("*.tf")):
        for block_type, blocks in hcl2.loads(tf_file.read_text(), serialization_options=_OPTIONS).items():
            merged.setdefault(block_type, []).extend(blocks)
    return merged


def labelled(blocks: list[dict]) -> dict[str, dict]:
    """``[{"label": body}, ...]`` as one ``{"label": body}`` mapping."""
    return {label: body for block in blocks for label, body in block.items()}
