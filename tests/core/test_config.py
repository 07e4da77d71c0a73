"""Settings are read in one place: flag > environment > config file > default, each
with where it came from; bad settings are errors that name the file or variable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plangate.config import ConfigError, load_settings, sqlite_path


def test_precedence_flag_environment_file_default(tmp_path: Path) -> None:
    """Each setting comes from the first source that has it, and says which."""
    conf = tmp_path / "conf" / "plangate.toml"
    conf.parent.mkdir()
    conf.write_text('policy = "pol.yaml"\ndb = "audit.db"\nmodel = "local:tiny"\n')
    s = load_settings({}, config=str(conf), environ={}, cwd=tmp_path)
    assert s.policy == str(conf.parent / "pol.yaml")  # relative to the file's folder
    assert s.db == str(conf.parent / "audit.db") and s.model == "local:tiny"
    assert s.sources == {"policy": str(conf), "db": str(conf), "model": str(conf)}
    s = load_settings({}, config=str(conf), environ={"PLANGATE_DB": "env.db"}, cwd=tmp_path)
    assert (s.db, s.sources["db"]) == ("env.db", "$PLANGATE_DB")
    s = load_settings({"db": "flag.db"}, config=str(conf), environ={"PLANGATE_DB": "env.db"}, cwd=tmp_path)
    assert (s.db, s.sources["db"]) == ("flag.db", "--db")
    s = load_settings({}, environ={}, cwd=tmp_path)
    assert (s.db, s.sources["db"], s.policy, s.config_file) == ("plangate.db", "default", None, None)


def test_the_config_file_is_found_by_variable_or_in_the_current_folder(tmp_path: Path) -> None:
    """`$PLANGATE_CONFIG` names it; otherwise `./plangate.toml` is used if present."""
    (tmp_path / "plangate.toml").write_text('policy = "here.yaml"\n')
    other = tmp_path / "other.toml"
    other.write_text('policy = "there.yaml"\n')
    assert load_settings({}, environ={}, cwd=tmp_path).policy == str(tmp_path / "here.yaml")
    via_env = load_settings({}, environ={"PLANGATE_CONFIG": str(other)}, cwd=tmp_path)
    assert via_env.policy == str(tmp_path / "there.yaml") and via_env.config_file == str(other)


@pytest.mark.parametrize(("url", "path"), [
    ("plangate.db", "plangate.db"), (":memory:", ":memory:"), ("sqlite:///rel/a.db", "rel/a.db"),
    ("sqlite:////abs/a.db", "/abs/a.db"),
])
def test_database_urls(url: str, path: str) -> None:
    assert sqlite_path(url) == path


@pytest.mark.parametrize(("text", "message"), [
    ('policy = ["a"]\n', "policy must be a non-empty string"),
    ('colour = "blue"\n', "unknown setting 'colour'"),
    ("policy = \n", "invalid TOML"),
    ('db = "mysql://x/y"\n', "mysql:// databases are not supported yet"),
])
def test_bad_config_files_name_the_file(tmp_path: Path, text: str, message: str) -> None:
    conf = tmp_path / "bad.toml"
    conf.write_text(text)
    with pytest.raises(ConfigError, match=r"bad\.toml") as err:
        load_settings({}, config=str(conf), environ={}, cwd=tmp_path)
    assert message in str(err.value)


def test_a_missing_required_setting_says_every_way_to_give_it() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings({}, environ={}, cwd=Path("/")).require("policy")
    assert "--policy" in str(err.value) and "PLANGATE_POLICY" in str(err.value) and "plangate.toml" in str(err.value)


def test_commands_read_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """`plangate review` takes its policy from PLANGATE_POLICY; `plangate config` shows it."""
    from plangate.cli import main

    from .conftest import EXAMPLES, POLICY_PATH

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PLANGATE_POLICY", str(POLICY_PATH))
    monkeypatch.setenv("PLANGATE_DB", "sqlite:///x.db")
    folder = EXAMPLES / "meeting-reply"
    assert main(["review", "--trigger", str(folder / "trigger.yaml"), "--plan", str(folder / "plan.json")]) == 0
    capsys.readouterr()
    assert main(["config", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["policy"] == str(POLICY_PATH) and shown["sources"]["policy"] == "$PLANGATE_POLICY"
    assert shown["db"] == "x.db"
