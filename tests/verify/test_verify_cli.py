"""`plangate catalog verify CATALOG [--env ENV] [--json FILE]`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from plangate.cli import main
from plangate.deployments.inbox.runtime import CATALOG_PATH, assistant_catalog

from .conftest import without


def test_the_shipped_assistant_catalog_verifies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "verify.json"
    assert main(["catalog", "verify", str(CATALOG_PATH), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "25 tools, 25 verified, 0 with undeclared flows" in text
    data = json.loads(out.read_text())
    assert data["ok"] and data["counts"]["problems"] == 0
    assert {t["tool"] for t in data["tools"]} == set(assistant_catalog().tools)


def test_an_undeclared_flow_exits_1_with_one_line_naming_it(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    broken = without(assistant_catalog(), "file_share", discloses=[])
    body = {"tools": {n: s.model_dump(mode="json", exclude={"name"}) for n, s in broken.tools.items()
                      if n in ("file_share", "file_read")}}
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(body))
    out = tmp_path / "verify.json"
    assert main(["catalog", "verify", str(path), "--env", "assistant", "--json", str(out)]) == 1
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("FAIL")]
    # The share's content leaves undeclared; and with no `discloses`, the catalog declares
    # no state the share's success depends on (the file must exist) either.
    assert any(line.startswith("FAIL file_share: undeclared-disclosure: stored workspace:") for line in lines)
    assert all(line.startswith(("FAIL file_share: undeclared-disclosure: stored workspace:",
                                "FAIL file_share: undeclared-dependence: the call goes out when 'path'"))
               for line in lines), lines
    tool = next(t for t in json.loads(out.read_text())["tools"] if t["tool"] == "file_share")
    assert tool["status"] == "failed" and tool["problems"][0]["kind"] == "undeclared-disclosure"


@pytest.mark.parametrize(("argv", "expected"), [
    (["catalog", "verify", "no-such-catalog.yaml"], "no-such-catalog.yaml"),
    (["catalog", "verify", "examples/assistant-catalog.yaml"], "no scratch environment"),
    (["catalog", "verify", str(CATALOG_PATH), "--env", "nowhere"], "invalid choice"),
    (["catalog", "verify", str(CATALOG_PATH), "--json", "no-such-folder/x.json"], "--json"),
])
def test_careless_input_is_one_line_and_exit_2(argv: list[str], expected: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and expected in err, err
