"""Read Terraform configuration with a real HCL parser (python-hcl2): blocks merged across a directory, or a
block's own text as written."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import hcl2
from lark import Tree

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


@dataclass(frozen=True)
class SourceBlock:
    """A top-level block exactly as written in its file, and where its nested blocks are in that text."""

    text: str
    # (block type, start, end) of each nested block, as offsets into ``text``.
    nested: tuple[tuple[str, int, int], ...] = ()

    def without(self, block_type: str) -> str:
        """The block's text with every nested block of ``block_type`` cut out (the rest byte for byte)."""
        text = self.text
        for kind, start, end in sorted(self.nested, key=lambda item: -item[1]):
            if kind == block_type:
                text = text[:start] + text[end:]
        return text


def _block_name(block: Tree) -> str:
    return "".join(str(token) for token in block.children[0].scan_values(lambda _: True))


def _block_labels(block: Tree) -> list[str]:
    labels = []
    for child in block.children[1:]:
        if isinstance(child, Tree) and child.data in ("string", "identifier"):
            labels.append("".join(str(token) for token in child.scan_values(lambda token: token.type != "DBLQUOTE")))
    return labels


def source_blocks(directory: Path, block_type: str) -> dict[str, SourceBlock]:
    """Each top-level ``block_type`` block of ``directory``'s .tf files by its first label, as written.

    Copying a block's own text (rather than re-serialising what a parser made of it) keeps every expression
    exactly as Terraform reads it in the original.
    """
    found = {}
    for tf_file in sorted(Path(directory).glob("*.tf")):
        text = tf_file.read_text()
        for block in hcl2.parses_to_tree(text).children[0].children:
            if not isinstance(block, Tree) or block.data != "block" or _block_name(block) != block_type:
                continue
            start, end = block.meta.start_pos, block.meta.end_pos
            body = next(child for child in block.children if isinstance(child, Tree) and child.data == "body")
            nested = tuple(
                (_block_name(child), child.meta.start_pos - start, child.meta.end_pos - start)
                for child in body.children
                if isinstance(child, Tree) and child.data == "block"
            )
            found[_block_labels(block)[0]] = SourceBlock(text=text[start:end], nested=nested)
    return found
