"""Deciding one call with Cedar: approve, deny or escalate, naming the rules.

Each (tool, trust class) is decided by one Cedar policy set, the rules that can match it:

* the set holds permits, forbids, and escalations compiled as forbids. `Allow` means some
  permit matched and nothing forbade or asked: approve.
* a `Deny`'s reasons are every forbid that held: if one is a hard forbid, deny, naming
  those; if all are escalations, ask the owner about them; if there are none (no permit
  matched, nothing forbade or asked), default deny.

Every engine error is a deny (`plangate:engine-error`): Cedar skips a forbid whose
evaluation errors, so an error must never be read as "nothing forbade this".
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import cedarpy
from mypy_extensions import mypyc_attr

from plangate.catalog import Catalog
from plangate.policy.facts import (
    ALL_ATTRIBUTES,
    CallFacts,
    FactEncodingError,
    cedar_context,
    cedar_schema,
)
from plangate.policy.model import PolicyDoc, Rule

VerdictKind = Literal["approve", "deny", "escalate"]

ENGINE_ERROR = "plangate:engine-error"
DEFAULT_DENY = "plangate:default-deny"


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """The verdict on one call, with the ids of the rules that decided it."""

    verdict: VerdictKind
    rules: tuple[str, ...]
    detail: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CompiledRule:
    id: str
    kind: Literal["permit", "forbid", "escalate"]
    reason: str
    cedar: str
    source: Rule | None = None
    line: int | None = None
    #: The action scope: tools and effect groups named, or None for any action.
    tools: frozenset[str] | None = None
    effects: frozenset[str] = frozenset()
    #: The trust classes the rule's principal scope names, or None for any.
    classes: frozenset[str] | None = None

    @property
    def reads(self) -> frozenset[str]:
        """The facts this rule reads: context attributes, and `args.<name>` per argument
        (`args.*` when it reads the arguments whole)."""
        attributes, arg_names = referenced_facts([self.cedar])
        out = set(attributes - {"args"})
        if "args" in attributes:
            out.update({"args.*"} if arg_names is None else {f"args.{a}" for a in arg_names})
        return frozenset(out)

    def applies_to(self, tool: str, effects: Sequence[str], trust_class: str) -> bool:
        """Whether Cedar could match this rule's scope for the tool and class at all."""
        if self.classes is not None and trust_class not in self.classes:
            return False
        if self.tools is None:
            return True
        return tool in self.tools or bool(self.effects.intersection(effects))


@dataclass(frozen=True, slots=True)
class _Slice:
    """The rules for one (tool, trust class), parsed, with the facts they read."""

    main: Any
    main_ids: tuple[str, ...]
    attributes: frozenset[str]
    arg_names: frozenset[str] | None
    key_of: Any
    #: Cedar's answers (allowed, reasons) already turned into decisions: a pure function of
    #: the answer, kept (it was ~30 us of a 20-call review's ~410 us of decisions).
    answers: dict[tuple[bool, tuple[str, ...]], Decision]
    #: The same, keyed by the text of Cedar's answer up to its timings (see `_text_head`).
    texts: dict[str, Decision]
    #: Encoded contexts, for a slice whose rules read no argument: then the context is a
    #: pure function of `key_of(facts)` (an encoding kept, not a decision: every call is
    #: still decided by Cedar).
    contexts: dict[Any, str]

    @classmethod
    def build(cls, rules: list[CompiledRule]) -> _Slice:
        main, main_ids = _policy_set(rules)
        attributes, arg_names = referenced_facts(r.cedar for r in rules)
        fields: list[str] = []
        for attr in sorted(attributes - {"args"}):
            fields.extend(("channel", "principal", "authenticated", "message") if attr == "trigger" else (attr,))
        # Any: typeshed types a starred attrgetter as returning tuples, so mypyc would check
        # that it does (with one field it returns the value itself).
        getter: Any = operator.attrgetter(*fields) if fields else None

        def key_of(facts: CallFacts) -> Any:
            if getter is None:
                return ()
            return getter(facts) if len(fields) > 1 else (getter(facts),)

        return cls(main, main_ids, attributes, arg_names, key_of, {}, {}, {})


@mypyc_attr(native_class=False)  # callers wrap its methods per instance (plangate.native)
@dataclass(kw_only=True)
class CompiledPolicy:
    """A policy ready to decide calls. Build with `plangate.policy.load_policy`."""

    doc: PolicyDoc
    catalog: Catalog
    rules: tuple[CompiledRule, ...]
    source: str
    #: Per (tool, class): the parsed set and its rule ids, holding only the rules
    #: whose action scope can match that tool (Cedar then evaluates fewer policies).
    _slices: dict[tuple[str, str], _Slice] = field(default_factory=dict)
    _entities: Any = None
    _schema: Any = None
    _cache: dict[tuple[Any, ...], Decision] = field(default_factory=dict)
    _whole: Any = None

    def __post_init__(self) -> None:
        self._parsed: dict[tuple[str, ...], _Slice] = {}
        self._reads_plan: dict[str, bool] = {}
        self._kinds = {r.id: r.kind for r in self.rules}
        self._by_id = {r.id: r for r in self.rules}
        self._attributes, self._arg_names = referenced_facts(r.cedar for r in self.rules)
        classes = sorted(self.class_names())
        request_types = sorted({*self.doc.request_types, "any"})
        entities = [{"uid": {"type": "TrustClass", "id": c}, "attrs": {}, "parents": []}
                    for c in classes]
        entities += [{"uid": {"type": "RequestType", "id": r}, "attrs": {}, "parents": []}
                     for r in request_types]
        self._schema = cedarpy.Schema.from_json_str(json.dumps(cedar_schema(self.catalog)))
        # With the schema, the entity set also carries the action groups (tool -> effect).
        self._entities = cedarpy.Entities.from_json_str(json.dumps(entities), self._schema)

    def class_names(self) -> set[str]:
        names = set(self.doc.classes) | {"owner"}
        if self.doc.deployment is not None:
            names |= set(self.doc.deployment.class_names())
        return names

    def reads_plan_bounds(self, trust_class: str) -> bool:
        """Whether any rule that could match some call of this class reads the plan's
        bounds (`context.plan`, or the context whole): then every plan for a trigger of the
        class counts towards its trigger's spend (`plangate.audit.spend`), whatever its own
        tools (a plan of tools no such rule covers still adds to what the rules count)."""
        found = self._reads_plan.get(trust_class)
        if found is None:  # every rule whose principal scope admits the class, whatever its tools
            found = self._reads_plan[trust_class] = any(
                "plan" in r.reads for r in self.rules if r.classes is None or trust_class in r.classes)
        return found

    def rule(self, rule_id: str) -> CompiledRule | None:
        return self._by_id.get(rule_id)

    def rule_reads(self, rule_id: str) -> frozenset[str]:
        """Facts a rule reads; everything (`*`) for a rule id this policy does not know."""
        rule = self._by_id.get(rule_id)
        return rule.reads if rule is not None else frozenset({"*"})

    def reason(self, rule_id: str) -> str:
        rule = self._by_id.get(rule_id)
        return rule.reason if rule else ""

    def cedar_request(self, facts: CallFacts, piece: _Slice | None = None) -> dict[str, Any]:
        """The Cedar request for a call, with the context the whole policy (or one slice of
        it) reads. Raises FactEncodingError on unencodable values."""
        attributes, arg_names = ((piece.attributes, piece.arg_names) if piece is not None
                                 else (self._attributes, self._arg_names))
        return _request(facts, cedar_context(facts, self.catalog, attributes=attributes,
                                             arg_names=arg_names))

    def decide(self, facts: CallFacts) -> Decision:
        """Decide one call. Pure: same facts, same decision (so decisions are memoised)."""
        return self.decide_many([facts])[0]

    def decide_many(self, calls: Sequence[CallFacts]) -> list[Decision]:
        """Decide several calls, each exactly as `decide` would: the calls that share a
        slice of rules go to Cedar in one batch (each request is evaluated on its own), and
        a batch that fails as a whole is decided again one call at a time, so one bad call
        cannot change another's decision."""
        out: list[Decision | None] = [None] * len(calls)
        pending: dict[int, tuple[_Slice, list[tuple[int, Any, dict[str, Any]]]]] = {}
        tools, cache = self.catalog.tools, self._cache
        for i, facts in enumerate(calls):
            tool = facts.tool
            if tool not in tools:
                out[i] = Decision(verdict="deny", rules=(ENGINE_ERROR,),
                                  detail=f"unknown tool {tool!r}")
                continue
            piece = self._slice(tool, facts.trust_class)
            # The key holds exactly the facts this slice's rules read (see referenced_facts),
            # so two calls with equal keys get equal Cedar requests and equal decisions.
            facts_key = piece.key_of(facts)
            if "args" in piece.attributes:
                arg_names = piece.arg_names
                key: Any = (tool, facts.trust_class, facts.request_type, facts_key,
                            repr(sorted((k, v) for k, v in facts.args.items()
                                        if arg_names is None or k in arg_names)))
            else:
                key = (tool, facts.trust_class, facts.request_type, facts_key, None)
            cached = cache.get(key)
            if cached is not None:
                out[i] = cached
                continue
            try:
                context = piece.contexts.get(facts_key) if key[4] is None else None
                if context is None:
                    # Encoded here, once: cedarpy takes a context string as it is.
                    context = json.dumps(cedar_context(facts, self.catalog, attributes=piece.attributes,
                                                       arg_names=piece.arg_names))
                    if key[4] is None and len(piece.contexts) < 4096:
                        piece.contexts[facts_key] = context
            except (FactEncodingError, TypeError, ValueError) as exc:
                out[i] = Decision(verdict="deny", rules=(ENGINE_ERROR,), detail=str(exc))
                continue
            request = _request(facts, context)
            waiting = pending.get(id(piece))
            if waiting is None:
                waiting = pending[id(piece)] = (piece, [])
            waiting[1].append((i, key, request))
        for piece, batch in pending.values():
            decisions = self._decide_batch([request for _i, _key, request in batch], piece)
            if len(cache) > 4096:
                cache.clear()
            for (i, key, _sent), decision in zip(batch, decisions, strict=True):
                out[i] = decision
                cache[key] = decision
        return out  # type: ignore[return-value]

    def clear_cache(self) -> None:
        self._cache.clear()

    def bare_decision(self, request: dict[str, Any]) -> Any:
        """One raw Cedar call on the whole main policy set (the benchmark's baseline)."""
        if self._whole is None:
            self._whole = _policy_set(list(self.rules))[0]
        return cedarpy.is_authorized(request, self._whole, self._entities)

    def _slice(self, tool: str, trust_class: str) -> _Slice:
        """The rules Cedar could match for this tool and class, parsed once per distinct set."""
        key = (tool, trust_class)
        found = self._slices.get(key)
        if found is None:
            effects = self.catalog.tools[tool].effects
            applicable = [r for r in self.rules if r.applies_to(tool, effects, trust_class)]
            ids = tuple(r.id for r in applicable)
            if ids not in self._parsed:
                self._parsed[ids] = _Slice.build(applicable)
            found = self._slices[key] = self._parsed[ids]
        return found

    def _decide_batch(self, requests: list[dict[str, Any]], piece: _Slice) -> list[Decision]:
        """Requests against one slice, in one Cedar call. Escalations are compiled as
        forbids, and a Deny's reasons are every forbid that held: a Deny whose reasons are
        all escalations asks the owner about exactly those; a Deny with no reason is the
        default deny (no permit held, and no escalation either)."""
        out: list[Decision] = []
        texts = piece.texts
        for result in self._authorize(requests, piece.main):
            if isinstance(result, Decision):
                out.append(result)
                continue
            head = _text_head(result) if isinstance(result, str) else None
            decision = texts.get(head) if head is not None else None
            if decision is None:
                decision = self._decision_of(result, head, piece)
            out.append(decision)
        return out

    def _decision_of(self, result: Any, head: str | None, piece: _Slice) -> Decision:
        """The decision one Cedar answer means: engine errors deny; else `_answer`. An
        answer's text is parsed whole; its head is kept for the next equal answer only when
        the head alone says the same (`_text_head`)."""
        if isinstance(result, str):
            try:
                allowed, reasons, errors = _answer_fields(json.loads(result))
            except (ValueError, TypeError, KeyError) as exc:
                return Decision(verdict="deny", rules=(ENGINE_ERROR,),
                                detail=f"unreadable answer from the engine: {exc}"[:300])
            try:
                same_head = head is not None and _answer_fields(json.loads(head + "}")) == (
                    allowed, reasons, errors)
            except (ValueError, TypeError, KeyError):
                same_head = False  # read whole every time
        else:  # cedarpy's own result object (`_engine_batch` without the raw call)
            allowed, reasons = result.allowed, tuple(result.diagnostics.reasons)
            errors, same_head = tuple(result.diagnostics.errors), False
        if errors:
            decision = Decision(verdict="deny", rules=(ENGINE_ERROR,), detail="; ".join(errors)[:500])
        else:
            decision = piece.answers.get((allowed, reasons)) or self._answer(allowed, reasons, piece)
            if len(piece.answers) < 1024:
                piece.answers[(allowed, reasons)] = decision
        if same_head and len(piece.texts) < 1024:
            assert head is not None
            piece.texts[head] = decision
        return decision

    def _answer(self, allowed: bool, reasons: tuple[str, ...], piece: _Slice) -> Decision:
        """What Cedar's answer on a slice means (a pure function of the answer: kept per slice)."""
        fired = tuple(sorted(piece.main_ids[_index(r)] for r in reasons))
        if allowed:
            return Decision(verdict="approve", rules=fired)
        hard = tuple(r for r in fired if self._kinds.get(r) != "escalate")
        if hard:
            return Decision(verdict="deny", rules=hard)
        if fired:
            return Decision(verdict="escalate", rules=fired)
        return _NO_RULE

    def _authorize(self, requests: list[dict[str, Any]], policies: Any) -> list[Any]:
        """Cedar's answer per request (its text, or cedarpy's result object), or a deny
        `Decision` where the engine failed (fail closed). A batch that raises is retried one
        request at a time, so each request gets exactly the answer it would get alone."""
        try:
            # No schema here: policies were validated against it at load time and the
            # context is built from typed facts; request validation would double the cost.
            results = _engine_batch(requests, policies, self._entities)
            if len(results) != len(requests):
                raise RuntimeError("cedarpy answered a batch with the wrong number of results")
        except Exception as exc:  # any engine failure denies (fail closed)
            if len(requests) > 1:
                return [self._authorize([r], policies)[0] for r in requests]
            return [Decision(verdict="deny", rules=(ENGINE_ERROR,), detail=repr(exc)[:300])]
        return list(results)


def _request(facts: CallFacts, context: Any) -> dict[str, Any]:
    """The Cedar request for a call: who (trust class), what (tool), which request type, and
    the context (encoded, or as a dict for cedarpy's public call to encode)."""
    return {"principal": {"type": "TrustClass", "id": facts.trust_class},
            "action": {"type": "Action", "id": facts.tool},
            "resource": {"type": "RequestType", "id": facts.request_type},
            "context": context}


def _answer_fields(data: Any) -> tuple[bool, tuple[str, ...], tuple[str, ...]]:
    """(allowed, reasons, errors) of one answer as cedarpy's engine writes it."""
    diagnostics = data["diagnostics"]
    reasons, errors = diagnostics["reason"], diagnostics["errors"]
    if not (isinstance(reasons, list) and isinstance(errors, list)
            and all(isinstance(x, str) for x in (*reasons, *errors))):
        raise TypeError("reasons and errors must be lists of strings")
    return data["decision"] == "Allow", tuple(reasons), tuple(errors)


# An answer's text ends with its timings, which differ from call to call: `"metrics":{...}`,
# the last key, whose values are plain numbers (or words: true, null). A JSON string cannot
# hold `,"metrics":{` unescaped, so the last one in the text is that key, and the text before
# it (the head) is the whole answer but the timings, when the tail is nothing else.
_METRICS = ',"metrics":{'
_TAIL = re.compile(r',"metrics":\{(?:"\w+":\w+(?:,"\w+":\w+)*)?\}\}\Z')


def _text_head(text: str) -> str | None:
    """The answer's text without its timings (None if it does not end as expected). Two
    answers with the same head are the same answer: their tails hold only timings. A head is
    kept only after the head alone was read to the same answer as the whole text."""
    cut = text.rfind(_METRICS)
    if cut <= 0 or _TAIL.match(text, cut) is None:
        return None
    return text[:cut]


def _raw_batch() -> Any:
    """cedarpy's engine call under its Python wrapper, which parses every answer's JSON
    into objects (a fifth of a 20-call review's Cedar time): here answers stay text, read
    by `_text_head`. Used only if it is there and answers a probe as expected; else None
    and the public `cedarpy.is_authorized_batch` is used."""
    raw = getattr(getattr(cedarpy, "_internal", None), "is_authorized_batch", None)
    if raw is None:
        return None

    def batch(requests: list[dict[str, Any]], policies: Any, entities: Any) -> list[str]:
        return list(raw(requests, policies, entities._inner, None, False))

    try:
        policies = cedarpy.PolicySet.from_str('permit(principal, action, resource) when { context.x == 1 };')
        entities = cedarpy.Entities.from_json_str("[]")
        probe = {"principal": {"type": "P", "id": "p"}, "action": {"type": "Action", "id": "a"},
                 "resource": {"type": "R", "id": "r"}}
        yes, no = batch([{**probe, "context": '{"x": 1}'}, {**probe, "context": '{"x": 2}'}],
                        policies, entities)
        if (_answer_fields(json.loads(yes)) != (True, ("policy0",), ())
                or _answer_fields(json.loads(no)) != (False, (), ())):
            return None
    except Exception:  # another cedarpy: its public call is used
        return None
    return batch


def _public_batch(requests: list[dict[str, Any]], policies: Any, entities: Any) -> list[Any]:
    return list(cedarpy.is_authorized_batch(requests, policies, entities))


_engine_batch: Any = _raw_batch() or _public_batch
"""Cedar's answers to a batch of requests (texts, or cedarpy's result objects)."""


_NO_RULE = Decision(verdict="deny", rules=(DEFAULT_DENY,), detail="no rule permits this call")


_ATTRIBUTE = re.compile(r'\bcontext\s*(?:\.\s*(\w+)|has\s+"?(\w+))')
# `context has "name"` is Cedar too; a quoted name that is not a plain word (escapes) is
# not understood here, so such a rule keeps every attribute (dropping one fails open).
_ODD_HAS = re.compile(r'\bcontext\s*has\s+"(?!\w+")')
_ARG = re.compile(r"\bcontext\s*\.\s*args\s*(?:\.\s*(\w+)|has\s+(\w+)|(.))")


def referenced_facts(texts: Any) -> tuple[frozenset[str], frozenset[str] | None]:
    """Which context attributes (and which `args` fields) the rules mention. A rule that
    uses `context` or `context.args` as a whole keeps everything."""
    attributes: set[str] = set()
    arg_names: set[str] | None = set()
    for text in texts:
        if re.search(r"\bcontext\b(?!\s*(\.|has\b))", text) or _ODD_HAS.search(text):
            return ALL_ATTRIBUTES, None
        attributes.update(a or b for a, b in _ATTRIBUTE.findall(text))
        for dotted, has, other in _ARG.findall(text):
            if other and arg_names is not None:
                arg_names = None  # `context.args` used whole
            elif arg_names is not None:
                arg_names.add(dotted or has)
        # Any other mention of `args` (`context has args.bcc`, a record literal, ...) is a
        # form this scan does not read: keep every argument rather than guess.
        if arg_names is not None and re.search(r"\bargs\b", _ARG.sub("", text)):
            arg_names = None
    return frozenset(attributes) & ALL_ATTRIBUTES, (
        frozenset(arg_names) if arg_names is not None else None)


def _index(policy_id: str) -> int:
    return int(policy_id.removeprefix("policy"))


def _policy_set(rules: list[CompiledRule]) -> tuple[Any, tuple[str, ...]]:
    text = "\n".join(rule.cedar for rule in rules)
    return cedarpy.PolicySet.from_str(text), tuple(r.id for r in rules)
