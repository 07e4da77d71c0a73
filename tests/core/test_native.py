"""The compiled hot paths (plangate.native): used only while they are copies of exactly the
sources, and deciding exactly as the sources do."""

from __future__ import annotations

import importlib.machinery
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import plangate
from plangate import native

PACKAGE = Path(plangate.__file__).resolve().parent
BUILT = native.status()["compiled"]


def _run(code: str, **env: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env}, check=True)
    return done.stdout.strip()


def test_the_digest_reads_every_listed_source(tmp_path: Path) -> None:
    copy = tmp_path / "plangate"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert native.digest(copy) == native.digest()
    for module in native.MODULES:
        source = copy.joinpath(*module.split(".")[1:]).with_suffix(".py")
        text = source.read_bytes()
        source.write_bytes(text + b"\n")
        assert native.digest(copy) != native.digest(), module
        source.write_bytes(text)


def _fake_build(folder: Path, digest: str, files: dict[str, str] | None = None, sub: str = "b1") -> None:
    (folder / sub).mkdir(parents=True, exist_ok=True)
    names = files if files is not None else {m: f"{m}.so" for m in native.MODULES}
    for name in names.values():
        (folder / sub / name).write_bytes(b"not a library")
    (folder / native.MANIFEST).write_text(json.dumps({"digest": digest, "dir": sub, "files": names}))


def test_a_build_of_other_sources_is_not_used(tmp_path: Path) -> None:
    _fake_build(tmp_path, "0" * 64)
    finder = native.Finder(tmp_path)
    assert finder.find_spec("plangate.labels") is None
    assert "sources changed" in finder.reason


def test_an_incomplete_build_is_not_used(tmp_path: Path) -> None:
    _fake_build(tmp_path, native.digest(), {m: f"{m}.so" for m in native.MODULES[1:]})
    finder = native.Finder(tmp_path)
    assert finder.find_spec(native.MODULES[2]) is None
    assert "incomplete" in finder.reason


def test_a_manifest_cannot_point_outside_its_folder(tmp_path: Path) -> None:
    _fake_build(tmp_path / "native", native.digest(), sub="b1")
    manifest = json.loads((tmp_path / "native" / native.MANIFEST).read_text())
    for sub in ("..", "../native/b1", "/tmp", ""):
        (tmp_path / "native" / native.MANIFEST).write_text(json.dumps({**manifest, "dir": sub}))
        finder = native.Finder(tmp_path / "native")
        assert finder.find_spec("plangate.labels") is None and "unreadable" in finder.reason, sub


def test_builds_land_whole_in_their_own_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A build stages its files in a new folder and renames it into place; the manifest is
    replaced atomically; the previous build's folder stays for processes still using it."""
    from plangate.native import __main__ as cli

    def fake_mypyc(args: list[str], cwd: Path, **_kw: object) -> subprocess.CompletedProcess[str]:
        for file in args[3:]:
            Path(cwd, file).with_suffix(importlib.machinery.EXTENSION_SUFFIXES[0]).write_bytes(b"x")
        Path(cwd, "g__mypyc" + importlib.machinery.EXTENSION_SUFFIXES[0]).write_bytes(b"x")
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(subprocess, "run", fake_mypyc)
    folder = tmp_path / "native"
    cli.build(folder)
    first = json.loads((folder / native.MANIFEST).read_text())
    assert first["digest"] == native.digest() and set(native.MODULES) <= set(first["files"])
    assert native.Finder(folder).find_spec("plangate.labels") is not None
    assert "current" in cli.build(folder)
    real = native.digest
    # The sources change between the build's first look and its copy of them:
    monkeypatch.setattr(cli, "digest", lambda *package: real(*package) if package else "f" * 64)
    with pytest.raises(RuntimeError, match="changed while they were copied"):
        cli.build(folder)  # the copy is hashed with the real digest: refuses, changes nothing
    assert json.loads((folder / native.MANIFEST).read_text()) == first
    assert sorted(p.name for p in folder.iterdir()) == sorted([first["dir"], native.MANIFEST])


def test_no_build_and_an_unreadable_one_run_interpreted(tmp_path: Path) -> None:
    finder = native.Finder(tmp_path)
    assert finder.find_spec("plangate.labels") is None and "not built" in finder.reason
    (tmp_path / native.MANIFEST).write_text("{not json")
    finder = native.Finder(tmp_path)
    assert finder.find_spec("plangate.labels") is None and "unreadable" in finder.reason


def test_a_current_build_serves_only_its_own_modules(tmp_path: Path) -> None:
    _fake_build(tmp_path, native.digest(), {**{m: f"{m}.so" for m in native.MODULES}, "x__mypyc": "x.so"})
    finder = native.Finder(tmp_path)
    spec = finder.find_spec("plangate.review.flow")
    assert spec is not None and spec.origin == str(tmp_path / "b1" / "plangate.review.flow.so")
    assert finder.find_spec("x__mypyc") is not None
    assert finder.find_spec("plangate.gate") is None  # not in the group: the interpreter's
    assert finder.find_spec("json") is None


def test_it_can_be_turned_off() -> None:
    code = ("import plangate.review.reviewer as r, plangate.native as n, json;"
            "print(json.dumps([r.__file__, n.status()]))")
    path, status = json.loads(_run(code, PLANGATE_NATIVE="0"))
    assert path.endswith(".py") and status["compiled"] is False and status["modules"] == 0


@pytest.mark.skipif(os.environ.get("PLANGATE_NATIVE_REQUIRED") != "1",
                    reason="only where the test command built the compiled modules")
def test_the_test_command_runs_the_compiled_modules() -> None:
    assert native.status() == {"compiled": True, "modules": len(native.MODULES), "of": len(native.MODULES),
                               "reason": "compiled"}


_TIMINGS = {"seconds", "baseline_seconds", "command"}


def _bench(name: str, out: Path, **env: str) -> dict[str, object]:
    subprocess.run([sys.executable, "-m", "plangate", "bench", name, "--json", str(out)], check=True,
                   capture_output=True, text=True, timeout=600, env={**os.environ, **env})
    data = json.loads(out.read_text())
    return {k: v for k, v in data.items() if k not in _TIMINGS}


@pytest.mark.skipif(not BUILT, reason="the compiled modules are not built here")
@pytest.mark.parametrize("bench", ["support", "incident"])
def test_compiled_and_interpreted_decide_the_same(tmp_path: Path, bench: str) -> None:
    """A benchmark's every verdict, rule, summary and escalation, compiled and interpreted."""
    compiled = _bench(bench, tmp_path / "c.json")
    interpreted = _bench(bench, tmp_path / "i.json", PLANGATE_NATIVE="0")
    assert compiled == interpreted
    assert compiled["attacks"] and compiled["benign"]
