"""One small case per validation rule, with the exact text `digest check` prints.

Each tests/cases/*.yml holds the seed files, the arguments, and the expected
exit code and error output. `make golden` rewrites the expectations.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml

from digest.cli import main

CASES = sorted((Path(__file__).parent / "cases").glob("*.yml"))


def run_case(case: Path, root: Path) -> tuple[int, str]:
    spec = yaml.safe_load(case.read_text(encoding="utf-8"))
    seeds = root / "seeds"
    seeds.mkdir(parents=True)
    for name, content in spec["files"].items():
        (seeds / name).write_text(content, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    args = spec.get("args", ["check"])
    code = main([*args, "--root", str(root)], out=out, err=err)
    return code, err.getvalue()


def _block(text: str) -> str:
    if not text:
        return ' ""\n'
    return " |\n" + "".join(f"  {line}\n" if line else "\n" for line in text.rstrip("\n").split("\n"))


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_case(case: Path, tmp_path: Path, update_golden: bool) -> None:
    code, err = run_case(case, tmp_path)
    text = case.read_text(encoding="utf-8")
    if update_golden:
        head = text.split("\nexit:", 1)[0].rstrip("\n")
        case.write_text(f"{head}\nexit: {code}\nstderr:{_block(err)}", encoding="utf-8")
        return
    spec = yaml.safe_load(text)
    assert "exit" in spec, f"{case.name} has no expectation yet: run `make golden`"
    assert (code, err) == (spec["exit"], spec["stderr"])
    # Nothing is written by a check, whatever its outcome.
    assert not (tmp_path / "docs").exists()
