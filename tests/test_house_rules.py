"""The house rules a newcomer can rely on, checked rather than hoped for.

- no function over 60 lines and no module over 400 lines, in the product
  (`heupreminder/`, database migrations excepted: they are history, written
  once and never read as code) and in the benchmarks;
- the layers only point down: `lint-imports` (the contract in pyproject.toml)
  passes, so the README's one test command checks the floors too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHECKED_TREES = ("heupreminder", "benchmarks")
EXCLUDED = (Path("heupreminder") / "db" / "migrations",)
MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 400


def python_files() -> Iterator[Path]:
    """Every checked module, as a path relative to the repository."""
    for tree in CHECKED_TREES:
        for path in sorted((REPO / tree).rglob("*.py")):
            relative = path.relative_to(REPO)
            if not any(relative.is_relative_to(excluded) for excluded in EXCLUDED):
                yield relative


def long_functions(relative: Path) -> Iterator[str]:
    """`path:line name (N lines)` for each function, nested ones too, over the limit."""
    source = (REPO / relative).read_text(encoding="utf-8")
    for node in ast.walk(ast.parse(source, filename=str(relative))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            assert node.end_lineno is not None  # always set by ast.parse
            # Counted from the `def` line to the last line of the body; decorators apart.
            length = node.end_lineno - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                yield f"{relative}:{node.lineno} {node.name} ({length} lines)"


def long_modules(relative: Path) -> Iterator[str]:
    lines = len((REPO / relative).read_text(encoding="utf-8").splitlines())
    if lines > MAX_MODULE_LINES:
        yield f"{relative} ({lines} lines)"


def test_no_function_over_60_lines() -> None:
    offenders = [found for path in python_files() for found in long_functions(path)]
    assert offenders == [], (f"functions over {MAX_FUNCTION_LINES} lines:\n"
                             + "\n".join(offenders))


def test_no_module_over_400_lines() -> None:
    offenders = [found for path in python_files() for found in long_modules(path)]
    assert offenders == [], (f"modules over {MAX_MODULE_LINES} lines:\n"
                             + "\n".join(offenders))


def test_layers_only_point_down() -> None:
    # The venv's own lint-imports, next to the interpreter running the tests: no PATH lookup.
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint_imports)], cwd=REPO, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
