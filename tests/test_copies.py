"""Every block a remote-code file carries as a copy (`# Copied from depdetect.X.name`) equals its original, as
transformers' utils/check_copies.py keeps its copies: remote code must load where depdetect is not installed, so
it cannot import the original, and a fix made to one side only would make the two disagree silently."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "depdetect"
MARK = re.compile(r"^# Copied from (depdetect(?:\.\w+)+)\.(\w+)\s*$")


def top_level_source(path: Path, name: str) -> str | None:
    """The source of the top-level function, class or assignment called `name` in `path`."""
    text = path.read_text(encoding="utf-8")
    for node in ast.parse(text).body:
        names = [node.name] if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else [
            t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)]
        if name in names:
            return ast.get_source_segment(text, node)
    return None


def marked_copies() -> list[tuple[Path, int, str, str]]:
    """(file, line, original module, name) of every `# Copied from` mark in the package."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = MARK.match(line)
            if match:
                found.append((path, number, match.group(1), match.group(2)))
    return found


def test_the_remote_code_files_mark_the_copies_they_carry():
    marked = {(p.name, name) for p, _, _, name in marked_copies()}
    assert {("pipeline_hybrid.py", "check_text"), ("pipeline_hybrid.py", "check_texts"),
            ("pipeline_dual_encoder.py", "check_interview"),
            ("configuration_dual_encoder.py", "check_calibration"),
            ("configuration_dual_encoder.py", "check_encoder_size")} <= marked


@pytest.mark.parametrize("path, line, module, name", marked_copies(),
                         ids=lambda v: v.name if isinstance(v, Path) else str(v))
def test_each_marked_copy_equals_its_original(path, line, module, name):
    original_file = PACKAGE.parent / (module.replace(".", "/") + ".py")
    assert original_file.is_file(), f"{path.name}:{line} names {module}, which is not a module of the package"
    original = top_level_source(original_file, name)
    assert original is not None, f"{path.name}:{line}: {module} has no top-level {name}"
    copy = top_level_source(path, name)
    assert copy == original, (f"{path.relative_to(PACKAGE.parent)}:{line}: `{name}` differs from {module}.{name}; "
                              "change both (the copy must stay in the remote-code file).")


def test_a_changed_copy_is_caught(tmp_path):
    original = tmp_path / "original.py"
    original.write_text("def f(x):\n    return x + 1\n")
    changed = tmp_path / "copy.py"
    changed.write_text("# Copied from original.f\ndef f(x):\n    return x + 2\n")
    assert top_level_source(changed, "f") != top_level_source(original, "f")
    assert top_level_source(tmp_path / "original.py", "missing") is None
