"""Policy loader: compiling YAML rules to Cedar, with errors naming file, line and rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from plangate.catalog import Catalog
from plangate.errors import PolicyError
from plangate.policy import load_policy, parse_policy_text
from plangate.policy.lint import lint, notes

from .conftest import CATALOG_PATH, POLICY_PATH

HEAD = "rules:\n  - id: base\n    permit: {}\n    reason: base\n"


def _compile(text: str, catalog: Catalog):
    return parse_policy_text(text, catalog, source="p.yaml")


def test_example_policy_compiles_with_generated_rules(catalog: Catalog) -> None:
    """The example policy compiles; request types and budgets become named forbids."""
    policy = load_policy(POLICY_PATH)
    ids = {r.id for r in policy.rules}
    assert {"owner-may-do-anything", "no-executing-untrusted-content",
            "request-type:meeting_request:tools", "class:unknown:request-types",
            "class:unknown:budget.max_calls", "class:unknown:budget.max_egress",
            "class:contact:budget.max_calls"} <= ids
    assert policy.rule("ask-before-paying").kind == "escalate"  # type: ignore[union-attr]
    lines = POLICY_PATH.read_text().splitlines()
    assert lines[policy.rule("owner-may-do-anything").line - 1].strip() == (  # type: ignore[union-attr]
        "- id: owner-may-do-anything")
    assert policy.class_names() == {"owner", "contact", "unknown"}


def test_example_policy_lints_clean_and_notes_the_runtime_escalation() -> None:
    """The example policy has no lint warning; the escalation that reads run-time values is
    reported as a note (it is decided again when the run knows them)."""
    policy = load_policy(POLICY_PATH)
    assert lint(policy) == []
    found = notes(policy)
    assert len(found) == 1
    assert "rule 'owner-confirms-new-readers'" in found[0] and "run time" in found[0]


@pytest.mark.parametrize(("text", "expected"), [
    (HEAD + "  - id: bad-when\n    forbid: {}\n    when: 'context.private &&& true'\n",
     r"p\.yaml:5 rule 'bad-when': Cedar syntax"),
    (HEAD + "  - id: bad-unless\n    forbid: {}\n    unless: 'context.private == '\n",
     r"p\.yaml:5 rule 'bad-unless': Cedar syntax"),
    (HEAD + "  - id: aliens\n    permit: {classes: [martians]}\n",
     r"p\.yaml:5 rule 'aliens': unknown trust class 'martians'"),
    (HEAD + "  - id: nuke\n    permit: {tools: [launch]}\n",
     r"p\.yaml:5 rule 'nuke': unknown tool 'launch'"),
    (HEAD + "  - id: rt\n    permit: {request_types: [smalltalk]}\n",
     r"p\.yaml:5 rule 'rt': unknown request type 'smalltalk'"),
    (HEAD + "  - id: opt\n    forbid: {}\n    when: '!context.readers_ok'\n",
     r"p\.yaml:5 rule 'opt': .*optional attribute `readers_ok`"),
    (HEAD + "  - id: typo\n    forbid: {}\n    when: 'context.privat'\n",
     r"p\.yaml:5 rule 'typo': .*attribute `privat`"),
    (HEAD + "  - id: typed\n    forbid: {}\n    when: 'context.private > 3'\n",
     r"p\.yaml:5 rule 'typed': "),
    (HEAD + "  - id: twice\n    permit: {}\n    forbid: {}\n",
     r"p\.yaml:5: rules\[1\]: .*exactly one of permit, forbid or escalate"),
    (HEAD + "  - id: eff\n    forbid: {effects: [levitate]}\n",
     r"p\.yaml:6: rules\[1\]\.forbid\.effects\[0\]"),
    (HEAD + "  - id: extra\n    forbid: {}\n    because: reasons\n",
     r"p\.yaml:7: rules\[1\]\.because"),
    ("request_types:\n  chat: {tools: [nuke]}\n", r"p\.yaml:2.*request type 'chat' names unknown tool 'nuke'"),
    ("deployment: {owner: [o@x.example]}\nclasses:\n  unknwon: {budget: {max_calls: 1}}\n",
     r"p\.yaml:3.*unknown trust class 'unknwon'"),
    ("classes:\n  owner: {request_types: [nope]}\n", r"p\.yaml:2.*unknown request type 'nope'"),
    (HEAD + "  - id: nowhere\n    escalate: {writes: ['vault:*']}\n",
     r"p\.yaml:5 rule 'nowhere': no tool in the catalog writes 'vault:\*'"),
])
def test_policy_errors_name_file_line_and_rule(catalog: Catalog, text: str, expected: str) -> None:
    """Every policy error says which file, which line and which rule (or field) is wrong."""
    with pytest.raises(PolicyError, match=expected):
        _compile(text, catalog)


def test_a_writes_scope_is_every_tool_that_may_write_there(catalog: Catalog) -> None:
    """`writes: [pattern]` scopes a rule by what tools write, not by their names: a tool
    that writes a named file, and one that runs commands (which may write anything), are in
    it; one that writes elsewhere is not (red team round 36: a rule on `file_write` only let
    a command write into shared/ unasked)."""
    policy = _compile(HEAD + "  - id: into-shared\n    escalate: {writes: ['workspace:shared/*']}\n", catalog)
    rule = policy.rule("into-shared")
    assert rule is not None and rule.tools is not None
    writers = {name for name, spec in catalog.tools.items() if spec.effective_writes}
    runners = {name for name, spec in catalog.tools.items() if spec.executes}
    assert runners and runners <= set(rule.tools) <= writers
    assert writers - set(rule.tools), "the tools that write elsewhere (mail, calendar) are not in it"
    for tool in rule.tools:
        assert f'Action::"{tool}"' in rule.cedar


def test_duplicate_rule_ids_are_refused(catalog: Catalog) -> None:
    """Two rules with one id would make decisions ambiguous: refused, naming the id."""
    with pytest.raises(PolicyError, match=r"p\.yaml.*rule id 'base' is used twice"):
        _compile(HEAD + "  - id: base\n    forbid: {}\n", catalog)


def test_guarded_optional_attribute_validates(catalog: Catalog) -> None:
    """With a `has` guard the same condition passes Cedar validation."""
    policy = _compile(HEAD + "  - id: ok\n    forbid: {}\n"
                      "    when: 'context has readers_ok && !context.readers_ok'\n", catalog)
    assert policy.rule("ok") is not None


def test_policy_without_catalog_is_refused(tmp_path: Path) -> None:
    """A policy file naming no catalog (and given none) is refused by file."""
    path = tmp_path / "p.yaml"
    path.write_text(HEAD)
    with pytest.raises(PolicyError, match=r"p\.yaml.*names none"):
        load_policy(path)
    path.write_text("catalog: missing.yaml\n" + HEAD)
    with pytest.raises(PolicyError, match=r"catalog 'missing\.yaml'.*cannot read"):
        load_policy(path)


def test_policy_with_explicit_catalog(tmp_path: Path, catalog: Catalog) -> None:
    """An explicit catalog overrides the file's own `catalog:` entry."""
    path = tmp_path / "p.yaml"
    path.write_text("catalog: nowhere.yaml\n" + HEAD)
    assert load_policy(path, catalog).catalog is catalog


def test_lint_warns_about_unguarded_flows(catalog: Catalog) -> None:
    """A policy that permits everything and guards nothing gets lint warnings."""
    warnings = lint(_compile("rules:\n  - id: all\n    permit: {}\n", catalog))
    text = "\n".join(warnings)
    assert "no `reason`" in text
    assert "executes_tainted" in text and "readers_ok" in text


def test_catalog_path_is_relative_to_policy_file(tmp_path: Path) -> None:
    """`catalog:` is resolved next to the policy file, not the working directory."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "cat.yaml").write_text(CATALOG_PATH.read_text())
    (tmp_path / "sub" / "p.yaml").write_text("catalog: cat.yaml\n" + HEAD)
    assert "send_email" in load_policy(tmp_path / "sub" / "p.yaml").catalog.tools
