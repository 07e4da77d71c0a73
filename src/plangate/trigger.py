"""Triggers (what started a run) and the deployment that maps them to trust classes.

A trigger's principal is what the channel *claims*; its evidence is what the receiving
side *verified*. A principal only earns a trust class above the lowest when its canonical
identity matches the deployment exactly and the channel's evidence holds. Lookalikes,
display-name spoofs and unauthenticated claims fall to the lowest class, with the reason.

A payload may carry other people's words: a quoted reply, a forwarded mail, an attachment,
third-party text inside a webhook. Intake splits it into `segments`; only the `own` ones
are the principal's words, and only those can be the authenticated owner's.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from plangate.documents import load_document, parse_text, validation_message
from plangate.errors import TriggerError
from plangate.identity import Address, lookalike_of, parse_address
from plangate.labels import PUBLIC, Label, declared_reader
from plangate.quoting import split_pieces

Channel = Literal["email", "chat", "webhook", "cron", "api", "mcp"]
Verdict3 = Literal["pass", "fail", "none"]

MAX_PAYLOAD_CHARS = 1_000_000
MAX_SEGMENTS = 1000

SegmentKind = Literal["own", "quoted", "forwarded", "attachment", "embedded"]


class Evidence(BaseModel):
    """Authentication results established by the receiving side, never by the sender.
    `spf` and `dkim` are passes *aligned* with the From domain (DMARC's identifier
    alignment): a pass for the sending server's own domain vouches for nothing about the
    From (`plangate.identity.aligned_domain`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dmarc: Verdict3 = "none"
    spf: Verdict3 = "none"
    dkim: Verdict3 = "none"
    signed: bool = False
    paired: bool = False
    #: The receiving side chose the trigger's `id` (a counter, a digest of what it
    #: received). False, the default, when the id was copied from the message (a mail's
    #: Message-ID, a chat platform's message id a client can set): then its text is the
    #: sender's words, and a plan that copies it into a call carries the sender's label.
    id_assigned: bool = False


class Segment(BaseModel):
    """One piece of a payload and who wrote it. `own`: the principal's own words. Any
    other kind is text the principal passed on (`quoted` in a reply, `forwarded`, an
    `attachment`, third-party text `embedded` in a webhook or chat message): whoever
    the principal is, it is not their words. `author` is who that text claims to be
    from (a canonical address, or "" when unknown); nobody verified it, so it earns
    nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: SegmentKind
    author: str = Field(default="", max_length=1000)
    text: str = Field(max_length=MAX_PAYLOAD_CHARS)


def assemble(pieces: Iterable[tuple[SegmentKind, str, str]]) -> tuple[Segment, ...]:
    """Segments from (kind, author, text) pieces: empty pieces dropped, neighbouring own
    pieces merged, and `()` when nothing is foreign. Past `MAX_SEGMENTS` the rest is
    merged into the last piece as foreign (never as own)."""
    out: list[Segment] = []
    for kind, author, text in pieces:
        if not text:
            continue
        if out and kind == "own" and out[-1].kind == "own":
            out[-1] = Segment(kind="own", text=out[-1].text + text)
        elif len(out) >= MAX_SEGMENTS:
            last = out[-1]
            out[-1] = Segment(kind=last.kind if last.kind != "own" else "embedded",
                              author=last.author if last.kind != "own" else "",
                              text=last.text + text)
        else:
            out.append(Segment(kind=kind, author=author if kind != "own" else "", text=text))
    return tuple(out) if any(s.kind != "own" for s in out) else ()


_KINDS = frozenset(SegmentKind.__args__)  # type: ignore[attr-defined]


def _others_words_cut(data: Any) -> Any:
    """A trigger's fields with every own part cut where, by mail conventions, someone else's
    words begin (`plangate.quoting`): whatever front or intake made the trigger, a forward
    or a quote it did not mark is not its principal's words. Fields of the wrong shape are
    left as they are, for validation to name."""
    if not isinstance(data, dict):
        return data
    given = data.get("segments")
    payload = data.get("payload", "")
    parts: list[tuple[str, str, str]] = []
    if given:
        if not isinstance(given, list | tuple):
            return data
        for seg in given:
            if isinstance(seg, Segment):
                parts.append((seg.kind, seg.author, seg.text))
            elif (isinstance(seg, dict) and isinstance(seg.get("text"), str) and seg.get("kind") in _KINDS
                  and isinstance(seg.get("author", ""), str) and set(seg) <= {"kind", "author", "text"}):
                parts.append((seg["kind"], seg.get("author", ""), seg["text"]))
            else:
                return data
    elif isinstance(payload, str) and payload:
        parts.append(("own", "", payload))
    pieces: list[tuple[Any, str, str]] = []
    cut = False
    if any(kind == "own" and author for kind, author, _text in parts):
        return data  # an own part with an author: validation names it (a cut would drop it)
    # Neighbouring own parts are one text (a front may have cut a forward's header block
    # in two), read with the first lines of the part after it.
    at = 0
    while at < len(parts):
        if parts[at][0] != "own":
            pieces.append(parts[at])
            at += 1
            continue
        end = at
        while end < len(parts) and parts[end][0] == "own":
            end += 1
        run = "".join(p[2] for p in parts[at:end])
        after = (parts[end][0], parts[end][2]) if end < len(parts) else None
        found = split_pieces(run, after) if run else []
        if found:
            cut = True
            pieces += found
        else:
            pieces += parts[at:end]
        at = end
    if not cut:
        return data
    try:
        return {**data, "segments": assemble(pieces)}
    except ValueError:  # a part validation refuses: left for it to name
        return data


class Trigger(BaseModel):
    """What started a run. `instruction` is trusted text; `payload` and `meta` are not.

    `segments`, when given, are the payload cut into consecutive pieces with their
    provenance: joined they are exactly the payload (a document may give only the
    segments; the payload is then their concatenation). No segments: all of the payload
    is the principal's own words."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(default="trigger", max_length=200)
    channel: Channel
    principal: str = Field(max_length=1000)
    evidence: Evidence = Evidence()
    instruction: str = Field(default="", max_length=MAX_PAYLOAD_CHARS)
    payload: str = Field(default="", max_length=MAX_PAYLOAD_CHARS)
    meta: dict[str, str] = Field(default_factory=dict, max_length=100)
    segments: tuple[Segment, ...] = Field(default=(), max_length=MAX_SEGMENTS)

    @model_validator(mode="before")
    @classmethod
    def _payload_from_segments(cls, data: Any) -> Any:
        segments = data.get("segments") if isinstance(data, dict) else None
        if segments and isinstance(segments, list | tuple) and not data.get("payload"):
            texts = [s.get("text") if isinstance(s, dict) else getattr(s, "text", None)
                     for s in segments]
            if all(isinstance(t, str) for t in texts):
                data = {**data, "payload": "".join(str(t) for t in texts)}
        return _others_words_cut(data)

    @model_validator(mode="after")
    def _segments_are_the_payload(self) -> Trigger:
        if self.segments:
            if "".join(s.text for s in self.segments) != self.payload:
                raise ValueError("segments joined must be exactly the payload")
            if any(s.kind == "own" and s.author for s in self.segments):
                raise ValueError("an own segment is the principal's: leave its author empty")
        return self

    @model_serializer(mode="wrap")
    def _without_empty_segments(self, handler: SerializerFunctionWrapHandler) -> Any:
        # A trigger without segments reads (and is stored) exactly as before they existed.
        out = handler(self)
        if isinstance(out, dict) and not self.segments:
            out.pop("segments", None)
        return out

    def foreign(self) -> tuple[Segment, ...]:
        """The segments that are not the principal's own words."""
        return tuple(s for s in self.segments if s.kind != "own")

    def own_words(self) -> str:
        """The principal's own words: the own segments, or the whole payload if none are
        marked. Own segments are joined by a line break (they were apart)."""
        if not self.foreign():
            return self.payload
        return "\n".join(s.text for s in self.segments if s.kind == "own")

    def authenticated(self) -> bool:
        """Whether the channel's own evidence vouches for the principal."""
        ev = self.evidence
        if self.channel == "email":
            # A DMARC fail says neither pass is aligned with the From: it vetoes them.
            return ev.dmarc == "pass" or (ev.dmarc != "fail" and ev.spf == "pass" and ev.dkim == "pass")
        if self.channel == "webhook":
            return ev.signed
        if self.channel == "chat":
            return ev.paired
        # cron and local API/MCP triggers are raised by the deployment itself.
        return self.channel in ("cron", "api")


class ClassRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")
    principals: list[str] = Field(default_factory=list)
    domains: list[str] = Field(default_factory=list)
    channels: list[Channel] = Field(default_factory=list)
    #: Unauthenticated triggers never earn this class unless this is set to false.
    require_authenticated: bool = True


class Deployment(BaseModel):
    """Maps triggers to trust classes. First matching rule wins; else `lowest`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    owner: list[str] = Field(min_length=1)
    classes: list[ClassRule] = Field(default_factory=list)
    lowest: str = Field(default="unknown", pattern=r"^[a-z][a-z0-9_-]{0,63}$")
    #: Other principals the owner trusts to read private data, e.g. the owner's assistant.
    contacts: list[str] = Field(default_factory=list)
    #: Accounts the owner pays (IBANs, account ids): known payees for `context.to_known`.
    payees: list[str] = Field(default_factory=list)
    #: Who may know the state of stored resources the owner publishes: whether an item is
    #: there, and so whether a write there succeeds (`resources.call_state`), e.g.
    #: `{"calendar:*": ["public"]}` for a calendar whose free/busy anyone may see. A name or
    #: a prefix ending in one `*`; readers are principals, `owner` or `public`. Names
    #: nobody publishes are the owner's, unless the store holds their state itself.
    state_readers: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("state_readers")
    @classmethod
    def _published(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for pattern, readers in value.items():
            body = pattern.removesuffix("*")
            if not body or any(c in body for c in "*?[]"):
                raise ValueError(f"state_readers: {pattern!r} must be a resource name, or a name "
                                 f"prefix ending in one '*'")
            if not readers:
                raise ValueError(f"state_readers: {pattern!r} names no readers")
        return value

    def state_label(self, name: str) -> Label | None:
        """The readers the deployment publishes the state of `name` to (None: it publishes
        none). A name with wildcards (an argument not known yet) is covered only when every
        name it stands for is: its text before the first wildcard starts with the prefix."""
        found = None
        for pattern, readers in self.state_readers.items():
            if pattern.endswith("*"):
                cut = min((i for i in (name.find(c) for c in "*?[") if i >= 0), default=len(name))
                covered = name[:cut].startswith(pattern[:-1])
            else:
                covered = name == pattern
            if covered:
                label = Label(readers=frozenset(PUBLIC if r == "public" else declared_reader(r) for r in readers))
                found = label if found is None else found.join(label)
        return found

    def known_accounts(self) -> frozenset[str]:
        return frozenset("".join(p.split()).upper() for p in self.payees)

    def owner_addresses(self) -> frozenset[str]:
        return _canonical_set(tuple(self.owner))

    def known_addresses(self) -> frozenset[str]:
        """The owners', the contacts' and every class's principals' canonical addresses."""
        return _canonical_set((*self.owner, *self.contacts,
                               *(p for rule in self.classes for p in rule.principals)))

    def class_names(self) -> tuple[str, ...]:
        names = [c.name for c in self.classes]
        if self.lowest not in names:
            names.append(self.lowest)
        return tuple(dict.fromkeys(names))


@dataclass(frozen=True, slots=True, kw_only=True)
class Classified:
    """A trigger with the trust class the deployment gives it, and why."""

    trigger: Trigger
    principal: Address
    trust_class: str
    authenticated: bool
    reasons: tuple[str, ...]
    is_owner: bool


def classify(trigger: Trigger, deployment: Deployment) -> Classified:
    addr = parse_address(trigger.principal)
    authenticated = trigger.authenticated()
    reasons: list[str] = []
    known = deployment.known_addresses()
    imitated = lookalike_of(addr, known)
    demoted = False
    if imitated:
        reasons.append(f"principal {addr.canonical!r} is a lookalike of {imitated!r}")
        demoted = True
    if addr.display_spoof:
        reasons.append(f"display name {addr.display_name!r} names another address")
        demoted = True
    if addr.non_ascii and addr.canonical not in known:
        reasons.append("principal uses non-ASCII characters")
    if not demoted:
        for rule in deployment.classes:
            if rule.channels and trigger.channel not in rule.channels:
                continue
            if not _matches(rule, addr):
                continue
            if rule.require_authenticated and not authenticated:
                reasons.append(f"class {rule.name!r} needs authentication evidence; none held")
                continue
            reasons.append(f"matched class {rule.name!r}")
            is_owner = addr.canonical in deployment.owner_addresses() and authenticated
            return Classified(trigger=trigger, principal=addr, trust_class=rule.name,
                              authenticated=authenticated, reasons=tuple(reasons),
                              is_owner=is_owner)
    reasons.append(f"fell to the lowest class {deployment.lowest!r}")
    return Classified(trigger=trigger, principal=addr, trust_class=deployment.lowest,
                      authenticated=authenticated, reasons=tuple(reasons), is_owner=False)


def _matches(rule: ClassRule, addr: Address) -> bool:
    if not rule.principals and not rule.domains:
        return bool(rule.channels)  # a channel-only rule, e.g. every cron trigger
    if addr.canonical in _canonical_set(tuple(rule.principals)):
        return True
    domains = {d.casefold().lstrip("@") for d in rule.domains}
    return addr.domain in domains


@functools.lru_cache(maxsize=256)
def _canonical_set(addresses: tuple[str, ...]) -> frozenset[str]:
    """The canonical forms of a deployment's configured addresses (owners, contacts, a
    class's principals). Kept by the addresses themselves, not by the deployment: its
    lists are only frozen against reassignment, so an edited list is a new key, never a
    stale answer. Every review asks several times; the configuration rarely changes."""
    return frozenset(parse_address(a).canonical for a in addresses)


def _model(cls: type[BaseModel], data: Any, source: str) -> Any:
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise TriggerError(validation_message(exc, source=source, data=data)) from None


def load_trigger(path: str | Path) -> Trigger:
    try:
        data = load_document(path)
    except ValueError as exc:
        raise TriggerError(str(exc)) from None
    return parse_trigger(data, source=str(path))


def parse_trigger(data: Any, *, source: str = "trigger") -> Trigger:
    if isinstance(data, str):
        try:
            data = parse_text(data, source=source)
        except ValueError as exc:
            raise TriggerError(str(exc)) from None
    result: Trigger = _model(Trigger, data, source)
    return result


def load_deployment(path: str | Path) -> Deployment:
    try:
        data = load_document(path)
    except ValueError as exc:
        raise TriggerError(str(exc)) from None
    result: Deployment = _model(Deployment, data, str(path))
    return result
