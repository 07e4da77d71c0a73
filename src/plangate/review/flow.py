"""Values and labels of plan arguments, and the facts a policy decides a call on.

The static review and the executor share this module: statically a step's output is
`OPEN` (its label known from the catalog, its value not), at run time it is concrete.
Resolving an argument therefore gives the same labels in both halves, and the same
`CallFacts` shape, so one policy governs both.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from email.utils import getaddresses
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from plangate.catalog import ToolSpec
from plangate.identity import canonical_address, parse_address, simple_address
from plangate.labels import PUBLIC, ROLE, TRUSTED, Label, Taint, declared_reader, join_all
from plangate.plan.codec import TRIGGER_REF
from plangate.plan.model import Arg, Concat, ListOf, Lit, Ref
from plangate.policy.facts import CallFacts, PlanBounds
from plangate.quoting import passed_on_subject
from plangate.resources import OPEN_VALUE
from plangate.review.origins import as_text, occurs_in, own_words_text, text_occurs
from plangate.trigger import Classified, Deployment, Trigger

OPEN: Any = OPEN_VALUE  # re-exported: a value not known before the plan runs

DESTINATION_SINKS = frozenset({"recipient", "account", "url"})
#: Label sources of what the trigger itself gave: its principal's own words (`payload`; a
#: quote is `payload:quoted` besides), its standing instruction, who sent it and how. An
#: argument with any other source (a tool's output, an extraction, the planner) holds
#: something the agent picked (`chosen_args`).
GIVEN_SOURCES = frozenset({"payload", "instruction", "trigger:principal", "trigger:channel"})
#: A source the static review adds to what a call with a value not known yet computes, and to
#: what it writes (`reviewer._StaticWalker`): whatever carries it was decided at run time.
#: No fact reads it (it counts as given below, so it never makes an argument `chosen`).
AT_RUN_TIME = "review:at-run-time"
_GIVEN_OR_OPEN = GIVEN_SOURCES | {AT_RUN_TIME}
#: Sources of what a run read (`read_sinks`): a tool's output, a stored resource; and "extract".
_READ_PREFIXES = ("tool:", "store:")
OWNER = "owner"
_NONE: frozenset[str] = frozenset()
_FACT_FIELDS = (
    "tool", "trust_class", "request_type", "channel", "principal", "authenticated", "args",
    "open_args", "tainted_args", "influenced_args", "planner_args", "chosen_args", "tainted_sinks",
    "influenced_sinks", "private", "readers_ok", "args_readers_ok", "to_owner", "to_sender", "to_known",
    "destinations", "executes_tainted", "plan", "decided_privately", "message", "steered", "read_sinks")
if CallFacts._fields != _FACT_FIELDS:  # `call_facts` builds them positionally, in this order
    raise ImportError("plangate.policy.facts.CallFacts changed its fields; update "
                      "plangate.review.flow.call_facts and _FACT_FIELDS")


class Resolved(NamedTuple):
    """A value (or OPEN) with its label."""

    value: Any
    label: Label
    #: False when the value (or a part of it) is only known at run time.
    known: bool = True


class PathError(LookupError):
    """A field path does not exist in a value."""


def follow(value: Any, path: tuple[str | int, ...]) -> Any:
    """Walk path segments (keys and list indexes); OPEN stays OPEN."""
    if not path or value is OPEN:
        return value
    for part in path:
        if value is OPEN:
            return OPEN
        if isinstance(value, Mapping):
            key = part if part in value else str(part)
            if key not in value:
                raise PathError(f"no field {part!r}")
            value = value[key]
        elif isinstance(value, list | tuple):
            try:
                value = value[int(part)]
            except (ValueError, IndexError):
                raise PathError(f"no index {part!r}") from None
        elif hasattr(value, "model_dump"):
            value = follow(value.model_dump(mode="json"), (part,))
        else:
            raise PathError(f"cannot take {part!r} of a {type(value).__name__}")
    return value


def trigger_fields(trigger: Trigger, principal: str) -> dict[str, Any]:
    """The trigger as a `<trigger...>` reference reads it (`follow` walks it); the review
    summary shows the same values (`plangate.review.summary`). `principal`: canonical."""
    return {
        "id": trigger.id, "channel": trigger.channel, "principal": principal,
        "payload": trigger.payload, "instruction": trigger.instruction,
        "meta": dict(trigger.meta), "own": trigger.own_words(),
        "segments": [seg.model_dump() for seg in trigger.segments],
    }


class FlowContext:
    """Trigger-dependent labels and destination facts for one run."""

    def __init__(self, classified: Classified, deployment: Deployment, *,
                 planner_context: Label | None = None) -> None:
        self.classified = classified
        self.trigger = classified.trigger
        #: The id of the message that started the run (`trigger.message` in the facts).
        self.message = self.trigger.meta.get("message_id", "")
        #: Who may know the state of a stored name, as the deployment publishes it.
        self.state_label = deployment.state_label
        self.owner_addresses = deployment.owner_addresses()
        self.known = deployment.known_addresses() | deployment.known_accounts()
        self.org_domains = frozenset(
            d.casefold().lstrip("@") for rule in deployment.classes for d in rule.domains)
        principal = classified.principal.canonical
        self.sender = principal
        payload_taint: Taint = "none" if classified.is_owner else "high"
        self.instruction_label = Label(sources=frozenset({"instruction"}))
        # The sender's words are readable by the sender and the owner; the authenticated
        # owner's own words are the owner's to send anywhere.
        payload_readers = (frozenset({PUBLIC}) if classified.is_owner
                           else frozenset({OWNER, self._principal_id(principal)}))
        self.payload_label = Label(readers=payload_readers, sources=frozenset({"payload"}),
                                   taint=payload_taint)
        # What the sender quotes, forwards, attaches or embeds is not their words, however
        # trusted they are: tainted, and readable by the owner and the sender only (not by
        # the author it names: nobody verified that, and text the sender wrote below a
        # fake "From:" line would be theirs).
        foreign_readers = frozenset({OWNER, self._principal_id(principal)})
        self.segment_labels = tuple(
            self.payload_label if seg.kind == "own" else
            Label(readers=foreign_readers, sources=frozenset({"payload", f"payload:{seg.kind}"}),
                  taint="high")
            for seg in self.trigger.segments)
        #: The whole message: every part of it.
        self.message_label = join_all([self.payload_label, *self.segment_labels])
        #: The sender's own words, normalised; None when all of the trigger's text is theirs.
        self._own_words = own_words_text(self.trigger)
        #: Text of the trigger that is not the sender's own words: a foreign part's, or a
        #: header's (`own_words_text`), someone else's as a foreign part is.
        self.others_label = (self.message_label if self.trigger.foreign() else self.message_label.join(
            Label(readers=foreign_readers, sources=frozenset({"payload", "payload:meta"}), taint="high")))
        # Each header (`meta`) as a reference reads it: the sender's where their own words hold
        # it, else someone else's (a reply's subject, a display name, an id their client or
        # anyone's wrote), as `own_words_text` decides for literals.
        own = self._own_words
        self.meta_labels = {key: (self.payload_label if own is None or not value.strip()
                                  or text_occurs(value, own) else self.others_label)
                            for key, value in self.trigger.meta.items()}
        self.subject_label = self.meta_labels.get("subject", self.payload_label)
        self.headers_label = join_all([self.payload_label, *self.meta_labels.values()])
        #: The headers as a planner reads them: a sender's own client wrote its Message-ID,
        #: date and addresses, so of those only the subject may be someone else's words there.
        self.shown_headers_label = self.payload_label.join(self.subject_label)
        self._payload_literals: dict[str, Label] = {}
        # A planner literal is whatever the planner chose to write, so it carries the
        # label of everything the planner was shown (the model layer says what that was:
        # the trigger, and on a replan the outputs it saw). A planner shown private data
        # cannot pass it off as its own invention.
        self.planner_label = Label(sources=frozenset({"planner"}), taint="high")
        # A verified literal is the owner's text, but *which* of the owner's words went into
        # which argument was the planner's choice; if the planner saw text an attacker
        # wrote, that choice was steerable: at least `low` taint (influenced), like an
        # enum answer. (The owner said "share A with bob, never B"; a steered planner
        # shares B with bob, every literal verified.)
        # The planner is shown the headers too (`plangate.model.planner_view`): a reply's or
        # forward's subject ("Re: <a stranger's subject>") that is not the sender's own words
        # steers as a quoted part does. A subject with no such prefix is the sender's (their
        # client adds one when it replies or forwards), and headers no sender's words hold as
        # a rule (a Message-ID, a date, addresses) do not count either; their values still
        # carry someone else's label. (A run the deployment raised itself with no message, a
        # schedule's, shows only its instruction; anyone else's empty message still shows who
        # sent it, an address its sender chose.)
        own_run = (self.trigger.channel in ("cron", "api") and not self.trigger.payload
                   and not self.trigger.segments)
        subject = self.trigger.meta.get("subject", "")
        shown_subject = bool(subject.strip()) and passed_on_subject(subject)
        saw_untrusted = ((not own_run and self.message_label.untrusted)
                         or (shown_subject and self.subject_label.untrusted)
                         or (planner_context is not None and planner_context.untrusted))
        self.steered = Label(taint="low") if saw_untrusted else TRUSTED
        self._is_steered = bool(saw_untrusted)
        #: The plan's own pc: its shape (which steps, which fields, which enum values and
        #: bounds an extraction may answer) was written by a planner that saw this context.
        #: Every effect and every write is checked with it, so nothing computed in the plan
        #: (an extraction's answer included) needs to carry it as well.
        self.plan_pc = TRUSTED
        if planner_context is not None:
            self.planner_label = self.planner_label.join(planner_context)
            self.plan_pc = planner_context.readers_only()
        # The labels of verified literals, joined once (every literal of a plan asks).
        self._instruction_literal = self.instruction_label.join(self.steered)
        self._payload_literal = self.payload_label.join(self.steered)
        # Who sent it is established by the channel, but a sender chooses their own address
        # (a quoted local part can hold any text): influenced, unless it is the owner.
        self.principal_label = Label(sources=frozenset({"trigger:principal"}),
                                     taint="none" if classified.is_owner else "low")
        self.channel_label = Label(sources=frozenset({"trigger:channel"}))
        # The id is the channel's only where the receiving side chose it; one a front copied
        # from the message (a Message-ID) was written by the sender: their words, as text of
        # their message is (the authenticated owner's are the owner's).
        self.id_label = (self.channel_label if classified.is_owner or self.trigger.evidence.id_assigned
                         else self.payload_label.join(Label(sources=frozenset({"trigger:id"}))))
        self.trigger_value = trigger_fields(self.trigger, principal)

    def shown_label(self) -> Label:
        """The label of everything of the trigger a planner is shown (who sent it, on which
        channel, its headers, instruction and message: `plangate.model.planner_view`)."""
        parts = [self.principal_label, self.channel_label, self.message_label]
        if self.trigger.meta:
            parts.append(self.shown_headers_label)
        if self.trigger.instruction:
            parts.append(self.instruction_label)
        return join_all(parts)

    def principal_reader(self) -> str:
        """The reader id of whoever the run is for (`owner` for the owner's addresses)."""
        return self._principal_id(self.classified.principal.canonical)

    def _reader_id(self, canonical: str) -> str:
        """The reader id of a principal or destination. `owner` (and `*`) are reserved
        reader names: a destination that merely spells one (a chat handle called "Owner")
        is nobody in particular and may read nothing private."""
        if canonical in self.owner_addresses:
            return OWNER
        if canonical.casefold() in (OWNER, PUBLIC):
            return INVALID + canonical
        return canonical

    def _principal_id(self, canonical: str) -> str:
        """`_reader_id` of whoever sent the trigger, who is never a role (`ROLE`)."""
        return INVALID + canonical if canonical.startswith(ROLE) else self._reader_id(canonical)

    def literal_label(self, lit: Lit) -> Label:
        if lit.origin == "instruction":
            return self._instruction_literal
        if lit.origin == "payload":
            if self._own_words is None:
                return self._payload_literal
            # Only a literal the sender's own words hold carries their label; one found
            # only in a quoted, forwarded or attached part is someone else's.
            key = repr(lit.literal)
            label = self._payload_literals.get(key)
            if label is None:
                label = (self._payload_literal if occurs_in(lit, self._own_words)
                         else self.others_label)
                self._payload_literals[key] = label
            return label
        return self.planner_label

    def trigger_label(self, path: tuple[str | int, ...]) -> Label:
        head = str(path[0]) if path else ""
        if head == "principal":
            return self.principal_label
        if head == "channel":
            return self.channel_label
        if head == "id":
            return self.id_label
        # Any text of the message: which part feeds which argument was the planner's
        # choice, as with a literal of the same words, so a planner that saw untrusted text
        # (`steered`) marks it influenced however it reaches the argument. (The principal,
        # the channel and the id are one value each: nothing to pick among.)
        label = self._message_part_label(head, path)
        return label if self.steered is TRUSTED else label.join(self.steered)

    def _message_part_label(self, head: str, path: tuple[str | int, ...]) -> Label:
        if head == "instruction":
            return self.instruction_label
        if head == "own":
            return self.payload_label
        if head == "segments":
            index = str(path[1]) if len(path) > 1 else ""
            if (index.isascii() and index.isdigit() and len(index) < 12
                    and int(index) < len(self.segment_labels)):
                return self.segment_labels[int(index)]
            return self.message_label
        if head == "meta":  # the sender's headers; the subject may be an earlier sender's
            if len(path) < 2:
                return self.headers_label
            return self.meta_labels.get(str(path[1]), self.payload_label)
        return self.message_label  # the payload: every part of the message

    def resolve(self, arg: Arg, env: Mapping[str, Resolved]) -> Resolved:
        """Value and label of an argument; step outputs come from `env`."""
        if isinstance(arg, Lit):
            # `literal_label`, with its two most common answers taken here.
            if arg.origin == "instruction":
                return Resolved(arg.literal, self._instruction_literal)
            if arg.origin == "payload" and self._own_words is None:
                return Resolved(arg.literal, self._payload_literal)
            return Resolved(arg.literal, self.literal_label(arg))
        if isinstance(arg, Ref):
            segments = arg.segments
            if arg.ref == TRIGGER_REF:
                return Resolved(follow(self.trigger_value, segments), self.trigger_label(segments))
            base = env[arg.ref]
            if not segments:  # the whole output: `follow` would give its value back
                return base
            return Resolved(follow(base.value, segments), base.label, base.known)
        if isinstance(arg, Concat):
            parts = [self.resolve(p, env) for p in arg.concat]
            label = join_all(p.label for p in parts)
            if not all(p.known for p in parts):
                return Resolved(OPEN, label, False)
            return Resolved("".join(as_text(p.value) for p in parts), label)
        assert isinstance(arg, ListOf)
        items = [self.resolve(i, env) for i in arg.items]
        return Resolved([i.value for i in items], join_all(i.label for i in items),
                        all(i.known for i in items))

    def destinations(self, spec: ToolSpec, args: Mapping[str, Resolved]) -> tuple[str, ...] | None:
        """Normalised destinations of a call, `()` if it has none, None if not known yet."""
        out: list[str] = []
        for name, kind in spec.sink_args.items():
            if kind not in DESTINATION_SINKS:
                continue
            arg = args.get(name)
            if arg is None:
                continue
            if not arg.known:
                return None
            value = arg.value
            if isinstance(value, list):
                out += [_normalise_destination(kind, v) for v in value]
            else:
                out.append(_normalise_destination(kind, value))
        for fixed in spec.sends_to:  # an address, or the owner, or a role (`declared_reader`)
            out.append(next(iter(sorted(self.owner_addresses))) if fixed == OWNER
                       else _normalise_destination("recipient", fixed) if "@" in fixed
                       else declared_reader(fixed))
        if not out:
            return (PUBLIC,) if "egress" in spec.effects else ()  # no named one: the world
        return (out[0],) if len(out) == 1 else tuple(sorted(set(out)))

    def call_facts(self, *, spec: ToolSpec, args: Mapping[str, Resolved], request_type: str,
                   bounds: PlanBounds, executes_tainted: bool,
                   disclosed: Label | None = None, control: Label = TRUSTED,
                   seen: Label | None = None) -> CallFacts:
        """Facts of one call. `disclosed`: label of stored content the call sends out;
        `control`: the pc label, readers of whatever decided that this call happens at
        all (the loops around it). Both count as data the call sends. `seen`: readers of
        what an agent that runs its own tools saw before asking for this call (whether it
        asks at all is its choice): its destinations must be able to read it, as data the
        call sends, and `decided_privately` says whether it is more private than the
        trigger's own message."""
        known_args: dict[str, Any] = {}
        # Lists, not sets: argument names are unique. (One pass over the arguments, inlined:
        # this runs for every call of every review and every run-time check.)
        open_args: list[str] = []
        tainted: list[str] = []
        influenced: list[str] = []
        planner: list[str] = []
        chosen: list[str] = []
        read: list[str] = []
        private = ((disclosed is not None and PUBLIC not in disclosed.readers)
                   or PUBLIC not in control.readers)
        # Whether the call happens was decided on what someone who may read the trigger may
        # not (the sender knows their own words): a fact of its own, since it is one bit,
        # and only a write that declassifies needs to ask about it.
        decided_privately = (seen is not None and PUBLIC not in seen.readers
                             and not seen.readers >= self.message_label.readers)
        labels = [control] if seen is None else [control, seen]
        for name, r in args.items():
            label = r.label
            labels.append(label)
            if r.known:
                known_args[name] = r.value
            else:
                open_args.append(name)
            if label.taint != "none":
                influenced.append(name)
                if label.taint == "high":
                    tainted.append(name)
            sources = label.sources
            if "planner" in sources:
                planner.append(name)
            if not sources <= _GIVEN_OR_OPEN:
                chosen.append(name)
                if any(src == "extract" or src.startswith(_READ_PREFIXES) for src in sources):
                    read.append(name)
            if not private and PUBLIC not in label.readers:
                private = True
        sinks = spec.sink_args
        dests = self.destinations(spec, args)
        readers_ok = args_ok = to_owner = to_sender = to_known = None
        if dests:
            data = join_all(labels)
            ids = [self._reader_id(d) for d in dests]
            readers = data.readers
            args_ok = PUBLIC in readers or all(i in readers for i in ids)
            if disclosed is not None:
                readers = data.join(disclosed).readers
                readers_ok = PUBLIC in readers or all(i in readers for i in ids)
            else:
                readers_ok = args_ok
            to_owner = self.owner_addresses.issuperset(dests)
            to_sender = dests == (self.sender,)  # sorted and unique: every one is the sender
            to_known = all(self._is_known(d) for d in dests)
        classified = self.classified
        # Positional (a third of the cost of keywords): the order is `_FACT_FIELDS`, which
        # this module checks against `CallFacts` when it loads.
        return CallFacts(
            spec.name, classified.trust_class, request_type, self.trigger.channel, self.sender,
            classified.authenticated, known_args,
            frozenset(open_args) if open_args else _NONE,
            frozenset(tainted) if tainted else _NONE,
            frozenset(influenced) if influenced else _NONE,
            frozenset(planner) if planner else _NONE,
            frozenset(chosen) if chosen else _NONE,
            frozenset([sinks[n] for n in tainted if n in sinks]) if tainted and sinks else _NONE,
            (frozenset([sinks[n] for n in influenced if n in sinks])
             if influenced and sinks else _NONE),
            private, readers_ok, args_ok, to_owner, to_sender, to_known, dests, executes_tainted, bounds,
            decided_privately, self.message, self._is_steered,
            frozenset([sinks[n] for n in read if n in sinks]) if read and sinks else _NONE)

    def _is_known(self, dest: str) -> bool:
        if dest.startswith(INVALID):
            return False  # a destination the gate cannot read is nobody it knows
        if dest in self.known or dest in self.owner_addresses or dest.casefold() in self.known:
            return True
        return "@" in dest and dest.rpartition("@")[2] in self.org_domains


INVALID = "invalid:"
"""Prefix of a destination the gate cannot read unambiguously: it is never the owner, the
sender or a known party, and may read nothing private (no parser-differential tricks)."""


def _normalise_destination(kind: str, value: Any) -> str:
    return _normalise_text(kind, str(value).strip())


_BREAKS_HEADER = re.compile("[\r\n\0;]")
"""A line break, a NUL or a group's end: more than one address, or another header."""


@functools.lru_cache(maxsize=4096)
def _normalise_text(kind: str, text: str) -> str:
    """Pure, so memoised: header parsing is the slowest part of building a call's facts."""
    if kind == "recipient":
        if _BREAKS_HEADER.search(text):
            return INVALID + text
        if simple_address(text):  # one bare address or handle: what `parse_address` returns
            return canonical_address(text)  # as its canonical, without the rest of its work
        if "@" not in text:
            # A handle, not a mail address (a chat user, a channel): one plain token.
            if any(c in text for c in ",<>\"") or len(text.split()) != 1:
                return INVALID + text
            return parse_address(text).canonical
        # Exactly one address: "a@x, b@y" or a group must not pass as its first member.
        found = getaddresses([text])
        if len(found) != 1 or "@" not in found[0][1]:
            return INVALID + text
        return parse_address(text).canonical
    if kind == "account":
        return "".join(text.split()).upper()
    # URLs: the host decides where the request goes. Anything a client could read with a
    # different host (backslashes, whitespace, control characters, odd schemes) is invalid.
    if any(c in text for c in "\\ \t\r\n\0") or not text.isprintable():
        return INVALID + text
    try:
        parts = urlsplit(text if "//" in text else f"//{text}")
        host = parts.hostname
    except ValueError:
        return INVALID + text
    if not host or parts.scheme not in ("", "http", "https"):
        return INVALID + text
    return f"url:{host.casefold()}"
