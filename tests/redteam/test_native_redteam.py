# ruff: noqa: E501  (the subprocess workers are scripts in strings, kept as the red team wrote them)
"""Red team: plangate.native (mypyc-compiled hot modules) against the interpreted sources.

Differential checks: the same hostile scenarios are run in two subprocesses, compiled and with
PLANGATE_NATIVE=0, and must decide, label and record the same. (Round against 32fced2.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from plangate import native

BUILT = native.status()["compiled"]
pytestmark = pytest.mark.skipif(not BUILT, reason="the compiled modules are not built here")
ROOT = Path(__file__).resolve().parents[2]

GATE_WORKER = r'''
"""Differential worker: prints JSON of results for hostile scenarios (run twice, compare)."""
import json, math, sys
from pathlib import Path
ROOT = Path.cwd()  # the project root: the test runs this worker there
import plangate
from plangate import Gate, load_policy, parse_trigger, native
from plangate.testing import FixtureTools, ScriptedExtractor, ScriptedOwner
from plangate.protocols import ToolResult

POLICY = load_policy(ROOT / "examples/assistant-policy.yaml")
OWNER = "owner@home.example"

class S(str):
    def strip(self, *a): return S("x")
    def lower(self): return "owner@home.example"
    def __str__(self): return self

class Weird:
    def __repr__(self): return "Weird()"

def norm(x):
    if isinstance(x, dict):
        return {str(k): norm(v) for k, v in x.items() if k not in ("run_id", "seconds", "ts", "approval")}
    if isinstance(x, (list, tuple)):
        return [norm(v) for v in x]
    if isinstance(x, float) and math.isnan(x):
        return "NaN"
    if isinstance(x, (str, int, float, bool)) or x is None:
        return x if type(x) in (str, int, float, bool) or x is None else repr(x)
    return repr(x)

def trig(channel="chat", principal=OWNER, payload="", instruction="", **kw):
    ev = {"paired": True} if channel == "chat" else {"dmarc": "pass"}
    return {"channel": channel, "principal": principal, "evidence": ev, "payload": payload,
            "instruction": instruction, **kw}

HOSTILE_OUTPUTS = [
    [{"body": "hello", "from": "eve@evil.example"}],
    [{"body": S("x"), "from": S("owner@home.example")}],
    [{0: "a", (1, 2): "b", None: "c", True: "d", 1.5: "e", "body": "k"}],
    [{"body": float("nan")}], [{"body": 10**400}], [{"body": True}], [{"body": None}],
    [{"body": [[["deep"]]]}], [{"body": {"x": {"y": 1}}}], [{"body": Weird()}],
    [{"body": "\ud800"}], [{"body": "a\x00b"}], ("tuple", "out"), {"0": {"body": "mapping"}},
    [{"body": b"bytes"}], [{"body": frozenset({"a"})}], "plain string", 12345, None, 1.0, True,
]

def scenarios():
    out = []
    # 1) read inbox -> reply to owner with body
    for i, o in enumerate(HOSTILE_OUTPUTS):
        for path in ("0.body", "0", "", "0.from", "1"):
            body = {"ref": "mail", "path": path} if path else {"ref": "mail"}
            out.append(("inbox-notify", trig(payload="tell me my mail"), {"version": 1, "steps": [
                {"id": "mail", "tool": "read_inbox", "args": {"query": {"literal": "x", "origin": "planner"}}},
                {"id": "tell", "tool": "notify_owner", "args": {"text": body}}]}, {"read_inbox": o}))
            out.append(("inbox-send", trig(payload="forward my mail to bob@partner.example"), {"version": 1, "steps": [
                {"id": "mail", "tool": "read_inbox", "args": {"query": {"literal": "x", "origin": "planner"}}},
                {"id": "send", "tool": "send_email", "args": {"to": {"list": [{"literal": "bob@partner.example", "origin": "payload"}]},
                  "subject": {"literal": "fw", "origin": "planner"}, "body": body}}]}, {"read_inbox": o}))
            out.append(("inbox-sendto", trig(payload="forward my mail"), {"version": 1, "steps": [
                {"id": "mail", "tool": "read_inbox", "args": {"query": {"literal": "x", "origin": "planner"}}},
                {"id": "send", "tool": "send_email", "args": {"to": {"list": [body]},
                  "subject": {"literal": "fw", "origin": "planner"}, "body": {"literal": "hi", "origin": "planner"}}}]}, {"read_inbox": o}))
            out.append(("file-write", trig(payload="save mail"), {"version": 1, "steps": [
                {"id": "mail", "tool": "read_inbox", "args": {"query": {"literal": "x", "origin": "planner"}}},
                {"id": "w", "tool": "write_file", "args": {"path": body, "content": {"literal": "c", "origin": "planner"}}},
                {"id": "r", "tool": "read_file", "args": {"path": body}},
                {"id": "s", "tool": "send_email", "args": {"to": {"list": [{"literal": "bob@partner.example", "origin": "planner"}]},
                  "subject": {"literal": "fw", "origin": "planner"}, "body": {"ref": "r"}}}]}, {"read_inbox": o, "read_file": o}))
            out.append(("pay", trig(payload="pay 120.50 to DE89 3704 0044 0532 0130 00"), {"version": 1, "steps": [
                {"id": "mail", "tool": "read_inbox", "args": {"query": {"literal": "x", "origin": "planner"}}},
                {"id": "p", "tool": "pay", "args": {"account": body, "amount": {"literal": 120.5, "origin": "payload"},
                  "memo": {"literal": "m", "origin": "planner"}}}]}, {"read_inbox": o}))
            out.append(("loop", trig(payload="notify each"), {"version": 1, "steps": [
                {"id": "mail", "tool": "read_inbox", "args": {"query": {"literal": "x", "origin": "planner"}}},
                {"id": "each", "kind": "for_each", "over": body, "as": "m", "max": 3, "steps": [
                  {"id": "n", "tool": "notify_owner", "args": {"text": {"ref": "m"}}}]}]}, {"read_inbox": o}))
    extra = []
    for (name, t, p, o) in out:
        if name.startswith(("inbox", "file", "loop")):
            extra.append((name + "-contact", {"channel": "email", "principal": "Bob <bob@partner.example>", "evidence": {"dmarc": "pass"},
                          "payload": "forward my mail to bob@partner.example please, save mail"}, p, o))
    out += extra
    # 2) literal values in plans (review-level)
    LITS = [120.5, 120, 10**20 + 1, 10**400, True, 1e308, -0.0, float("inf"), "120.50", [120.5], {"a": 120.5},
            "DE89 3704 0044 0532 0130 00", "de89370400440532013000", "ＤＥ89 3704 0044 0532 0130 00", None,
            12345678901234567891, 2**63, -2**63, 2**64, 0.1 + 0.2, 120.499999999999999]
    for lit in LITS:
        for who in ("payload", "planner", "instruction"):
            out.append(("paylit", trig(payload="Pay the plumber 120.50 to DE89 3704 0044 0532 0130 00 and 100000000000000000000 and 12345678901234567168",
                         instruction="pay 120 to DE89"), {"version": 1, "steps": [
                {"id": "p", "tool": "pay", "args": {"account": {"literal": lit if isinstance(lit, str) else "DE89 3704 0044 0532 0130 00", "origin": who},
                  "amount": {"literal": lit, "origin": who}, "memo": {"literal": lit, "origin": who}}}]}, {}))
    # 3) principals/channels
    PRINC = [OWNER, "Owner <OWNER@HOME.EXAMPLE>", '"owner@home.example" <owner@hоme.example>', "owner@home.example.",
             "owner@xn--hme-1ka.example", "OWNER@XN--HOME-EXAMPLE", "bob@partner.example", "Bob <bob@partner.example>",
             "owner@home.example, eve@evil.example", "eve@evil.example", "ｏwner@home.example", "owner@HOME.example",
             "owner@home.example\x00", "", "scheduler"]
    for p in PRINC:
        for ch in ("email", "chat", "cron"):
            for to in ("owner@home.example", "bob@partner.example", "eve@evil.example", p):
                out.append(("princ", {"channel": ch, "principal": p, "evidence": {"dmarc": "pass", "paired": True},
                                      "payload": f"send finance/salaries.xlsx to {to}"},
                            {"version": 1, "steps": [
                    {"id": "f", "tool": "read_file", "args": {"path": {"literal": "finance/salaries.xlsx", "origin": "payload"}}},
                    {"id": "s", "tool": "send_email", "args": {"to": {"list": [{"literal": to, "origin": "payload"}]},
                      "subject": {"literal": "s", "origin": "planner"}, "body": {"ref": "f"}}},
                    {"id": "r", "tool": "reply_email", "args": {"to": {"ref": "trigger", "path": "principal"}, "body": {"ref": "f"}}}]},
                            {}))
    return out

def main():
    results = []
    for n, (name, t, p, outputs) in enumerate(scenarios()):
        gate = Gate(POLICY, FixtureTools(outputs), extractor=ScriptedExtractor(), approver=ScriptedOwner(True))
        try:
            outcome = gate.submit(t, p)
            r = outcome.to_json()
            r["review"].pop("plan_hash", None)
            res = norm(r)
        except Exception as e:
            res = {"exc": type(e).__name__, "msg": str(e)[:200]}
        try:
            labels = [(pat, (lambda l: l.to_json() if l else None)(gate.resources.label_of(pat))) for pat in ("workspace:*", "memory:*", "ledger:*", "calendar:*", "mail:*")]
        except Exception as e:
            labels = repr(e)
        results.append({"n": n, "name": name, "res": res, "labels": norm(labels)})
    print(json.dumps({"compiled": native.status()["compiled"], "results": results}, default=repr))

main()
'''

UNIT_WORKER = r'''
import json, math, itertools, sys, re
import plangate
from plangate import native
from plangate.review import flow, origins
from plangate import resources, identity, safetext, quoting, labels
from plangate.policy import facts
from plangate.plan import codec
from plangate.execute import values
from plangate.catalog import ArgSpec
from plangate.plan.model import Lit, ExtractType

class S(str):
    def strip(self, *a): return S("evil@evil.example")
    def lower(self): return "owner@home.example"
    def split(self, *a, **k): return ["x"]
    def startswith(self, *a): return True
    def __contains__(self, x): return False
class I(int): pass
class F(float): pass
class D(dict): pass
class L(list): pass
VALS = ["owner@home.example", "Owner <OWNER@Home.Example>", "a/../../b", "x\\y",
        "..", "[*]", "*", "\ud800", "ß@straße.example", "xn--ss-aaa@XN--STRAE-OQA.example", "", " ", "a\x00b",
        0, 1, -1, True, False, 10**20 + 1, 10**400, 2**63, 1.5, float("nan"), float("inf"), -0.0, 1e308,
        None, [], ["a", "b"], ("a", "b"), {"a": 1}, {1: "a"}, {None: 1}, b"bytes", frozenset({"a"}),
        [[["x"]]], {"0": {"body": "y"}}, "120.50", "1,500.00", "DE89 3704", "https://x.example/a", "http://[::1]/",
        "//evil.example", "javascript:alert(1)", "url:x", "\u202egnp.exe", "ｏwner@home.example"]

def run(fn, *a, **k):
    try:
        r = fn(*a, **k)
        if hasattr(r, "__iter__") and not isinstance(r, (str, bytes, dict, list, tuple, set, frozenset)):
            r = list(r)
        return ["ok", re.sub(r" at 0x[0-9a-f]+", "", repr(r)[:400]), type(r).__name__]
    except RecursionError:
        return ["exc", "RecursionError"]
    except Exception as e:
        return ["exc"]  # which exception may differ (TypeError compiled)

out = {}
specs = {t: ArgSpec(type=t) if t != "array" else ArgSpec(type="array", items="string") for t in ("string", "number", "integer", "boolean", "array", "object")}
for i, v in enumerate(VALS):
    key = f"{i}:{v!r}"[:80]
    r = {}
    for kind in ("recipient", "account", "url"):
        r[f"nd-{kind}"] = run(flow._normalise_destination, kind, v)
    r["follow-0"] = run(flow.follow, v, ("0",))
    r["follow-a"] = run(flow.follow, v, ("a", 0))
    r["follow-i0"] = run(flow.follow, v, (0,))
    r["canon"] = run(identity.canonical_address, v)
    r["parse"] = run(lambda x: identity.parse_address(x).canonical, v)
    r["skel"] = run(identity.skeleton, v)
    r["same"] = run(identity.same_principal, v, "owner@home.example")
    r["simple"] = run(identity.simple_address, v)
    r["norm"] = run(origins.normalise, v)
    r["astext"] = run(origins.as_text, v)
    r["textocc"] = run(origins.text_occurs, v, "pay owner@home.example 120.50 de89 3704")
    try:
        lit = Lit.model_validate({"literal": v, "origin": "payload"})
        r["occurs"] = run(origins.occurs_in, lit, "pay owner@home.example 120.50 1,500.00 100000000000000000001 de89 3704")
    except Exception as e:
        r["occurs"] = ["litexc", type(e).__name__]
    r["resolve"] = run(resources.resolve_patterns, "workspace:{path}", {"path": v})
    r["resolve2"] = run(resources.resolve_patterns, "a:{x}/{y}", {"x": v, "y": v})
    r["canonical"] = run(resources._canonical, v)
    r["overlaps"] = run(resources.overlaps, v, "workspace:*")
    r["haswild"] = run(resources.has_wildcard, v)
    for t, spec in specs.items():
        r[f"ltp-{t}"] = run(codec.literal_type_problem, v, spec)
        r[f"enc-{t}"] = run(facts._encode, v, spec)
    r["cjson"] = run(codec.canonical_json, v)
    r["audit"] = run(values.audit_value, v)
    r["digest"] = run(values.args_digest, {"a": v})
    for kind in ("bool", "number", "date", "enum", "copy"):
        try:
            et = ExtractType.model_validate({"kind": kind, **({"values": ["a", "b"]} if kind == "enum" else {}), **({"min": 0, "max": 10} if kind == "number" else {})})
            r[f"ext-{kind}"] = run(values.extraction_problem, v, et, ["a", "owner@home.example", v])
        except Exception as e:
            r[f"ext-{kind}"] = ["etexc", type(e).__name__]
    r["copied"] = run(values.copied_from, v, "say owner@home.example 1 True [*]")
    r["copied2"] = run(values.copied_from, v, {"k": [v]})
    r["visible"] = run(safetext.visible, v)
    r["quote"] = run(safetext.quote, v)
    r["pieces"] = run(safetext.pieces, v, 10)
    r["split"] = run(quoting.split_pieces, v)
    r["subject"] = run(quoting.passed_on_subject, v)
    r["author"] = run(quoting.author_in, v)
    r["lfj-r"] = run(lambda x: labels.Label.from_json({"readers": x}).to_json(), v)
    r["lfj-t"] = run(lambda x: labels.Label.from_json({"taint": x}).to_json(), v)
    r["lfj-s"] = run(lambda x: labels.Label.from_json({"sources": x, "readers": x}).to_json(), v)
    r["pb"] = run(lambda x: facts.PlanBounds.from_json({"calls": x, "egress": x, "payments": x, "loop": x}), v)
    out[key] = r
print(json.dumps({"compiled": native.status()["compiled"], "out": out}))
'''


def _run(tmp_path: Path, name: str, code: str, **env: str) -> dict:
    script = tmp_path / f"{name}.py"
    script.write_text(code)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600,
                          cwd=ROOT, env={**os.environ, **env}, check=True)
    return json.loads(done.stdout)


def _both(tmp_path: Path, code: str) -> tuple[dict, dict]:
    compiled = _run(tmp_path, "c", code)
    interpreted = _run(tmp_path, "i", code, PLANGATE_NATIVE="0")
    assert compiled.pop("compiled") is True
    assert interpreted.pop("compiled") is False
    return compiled, interpreted


def test_gate_scenarios_with_hostile_tool_outputs_decide_the_same(tmp_path: Path) -> None:
    """A hijacked planner's plans over hostile tool outputs (non-str keys, NaN, 10**400, bools,
    tuples, bytes, lone surrogates, str subclasses), literals (huge ints, floats, fullwidth
    digits) and principals (lookalikes, IDNA, groups), submitted with an approving owner:
    every review, run, call record and stored label is the same compiled and interpreted."""
    compiled, interpreted = _both(tmp_path, GATE_WORKER)
    assert len(compiled["results"]) > 1000
    diffs = [(a["n"], a["name"]) for a, b in zip(compiled["results"], interpreted["results"], strict=True)
             if a != b]
    assert diffs == []


def test_compiled_functions_agree_on_json_reachable_inputs(tmp_path: Path) -> None:
    """The compiled modules' per-value functions (destination normalising, path following,
    origin checks, resource names, fact encoding, literal types, extraction checks, labels
    from JSON, safe text, quoting) on every JSON-reachable hostile value: the same result, or
    both raise. (Not covered: in-process str/int subclasses with overridden methods, which
    only Python callers can pass: compiled code calls the str primitives, not the overrides.)"""
    compiled, interpreted = _both(tmp_path, UNIT_WORKER)
    diffs = [(k, f, compiled["out"][k][f], interpreted["out"][k][f])
             for k in compiled["out"] for f in compiled["out"][k]
             if compiled["out"][k][f] != interpreted["out"][k][f]]
    assert diffs == []


_TIMINGS = {"seconds", "baseline_seconds", "command"}


def _strip(x: object) -> object:
    if isinstance(x, dict):
        return {k: _strip(v) for k, v in x.items() if k not in _TIMINGS}
    if isinstance(x, list):
        return [_strip(v) for v in x]
    return x


@pytest.mark.parametrize("bench", ["inbox"])  # agentdojo too, by hand (90 s): the same at 32fced2
def test_inbox_and_agentdojo_benchmarks_decide_the_same(tmp_path: Path, bench: str) -> None:
    """tests/core/test_native.py compares the support and incident benchmarks; the inbox one
    (the assistant's hostile mail) too."""
    out = {}
    for mode, env in (("c", {}), ("i", {"PLANGATE_NATIVE": "0"})):
        path = tmp_path / f"{mode}.json"
        subprocess.run([sys.executable, "-m", "plangate", "bench", bench, "--json", str(path)], check=True,
                       capture_output=True, text=True, timeout=900, cwd=ROOT, env={**os.environ, **env})
        out[mode] = _strip(json.loads(path.read_text()))
    assert out["c"] == out["i"]
