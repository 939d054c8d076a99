"""The README's Python client example runs as written, with a trust token and a finance token."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"

pytestmark = pytest.mark.slow  # runs the example's what-if on the demo round


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def test_the_python_client_example_runs_as_written(live, tmp_path):
    section = _section("The Python client")
    shell = re.findall(r"```sh\n(.*?)```", section, re.S)[0]
    # The tokens come from `capital users create` with the roles the README names.
    assert "--role trust --organisation R0A" in shell and "TRUST_TOKEN" in shell
    assert "--role ics_finance --system QWV" in shell and "FINANCE_TOKEN" in shell
    program = re.findall(r"```python\n(.*?)```", section, re.S)[0]
    path = tmp_path / "example.py"
    path.write_text(program, encoding="utf-8")
    env = live.env(
        "trust", TRUST_TOKEN=live.tokens["trust"], FINANCE_TOKEN=live.tokens["ics_finance"]
    )
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, env=env,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "is at version 2, not 1" in done.stdout  # the stale update was refused
    status, objective = lines[-1].split()
    assert status == "optimal" and float(objective) > 0
