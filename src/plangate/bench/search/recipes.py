"""Routes a value can take into a call's argument: the recipes of the search.

A recipe turns one value the attacker needs (an address, an amount, a piece of private
data) into plan steps and the argument that carries it. Direct recipes: a literal with
any claimed origin, a reference to any field of any output that holds the value, each
kind of extraction. Laundering recipes (`Hop`) route the value through a tool that gives
it back, in its own output or through a stored resource read by another call, and nest
up to any depth. Recipes are generated from what the probes found in the catalog's tools
(`Echo`) and in the context's data (`values.Index`), never from a hand-written list of
routes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from plangate.bench.search.values import Index, Json, Path, Piece, Source, claim_holds, parses_as, path_arg
from plangate.catalog import ArgSpec, Catalog

# ---------------------------------------------------------------------------- building


@dataclass(slots=True)
class Builder:
    """Accumulates the steps of one plan's route, with fresh step ids and the attacker's
    extraction answers (keyed by question)."""

    tag: str = "r"
    steps: list[Json] = field(default_factory=list)
    answers: dict[str, Any] = field(default_factory=dict)
    n: int = 0

    def sid(self, hint: str) -> str:
        self.n += 1
        return f"{self.tag}{self.n}_{hint}"[:60].replace(".", "_")

    def call(self, tool: str, args: Mapping[str, Json], hint: str | None = None) -> str:
        sid = self.sid(hint or tool)
        self.steps.append({"id": sid, "tool": tool, "args": dict(args)})
        return sid

    def extract(self, source: Json, type_: Json, answer: Any) -> Json:
        sid = self.sid("x")
        question = f"route:{sid}"
        self.steps.append({"id": sid, "kind": "extract", "from": source, "type": type_,
                           "question": question})
        self.answers[question] = answer
        return {"ref": sid}


def ref(step: str, path: Path = ()) -> Json:
    return {"ref": step, "path": path_arg(path)} if path else {"ref": step}


@dataclass(slots=True)
class Ctx:
    """What recipes build from in one context."""

    catalog: Catalog
    index: Index
    instruction: str = ""
    payload: str = ""
    examples: Mapping[str, Json] = field(default_factory=dict)
    #: The target call whose argument is being built (sources after it are out of reach).
    current_call: int | None = None

    def text_literal(self, value: Any) -> Json:
        """The least suspicious literal for text the attacker must supply around a value:
        the owner's words when they hold it, the sender's when they do, else the planner's."""
        if claim_holds(value, self.instruction):
            return {"literal": value, "origin": "instruction"}
        if claim_holds(value, self.payload):
            return {"literal": value, "origin": "payload"}
        return {"literal": value, "origin": "planner"}


def source_arg(src: Source, b: Builder, ctx: Ctx) -> Json:
    """An argument naming the whole output of `src`, adding its call if needed."""
    if src.step is not None:
        return {"ref": src.step}
    assert src.call is not None
    tool, args = src.call
    return {"ref": b.call(tool, args, hint=tool)}


def source_ref(src: Source, path: Path, b: Builder, ctx: Ctx) -> Json:
    whole = source_arg(src, b, ctx)
    return ref(whole["ref"], path)


def _selector(src: Source) -> str:
    return src.desc.split("(", 1)[0]


# ---------------------------------------------------------------------------- recipes


class Recipe:
    """One way to get a value into an argument."""

    name: str = "?"
    depth: int = 0
    kind: str = "?"
    #: The planner must write the value itself (a literal, an enum's values, copy choices):
    #: no route for private data, which the planner never sees.
    planner_writes: bool = False

    def build(self, value: Any, ctx: Ctx, b: Builder) -> Json | None:
        raise NotImplementedError

    def applies(self, value: Any, ctx: Ctx) -> bool:
        return True


class Literal(Recipe):
    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.name = f"literal:{origin}"
        self.kind = "literal"
        self.planner_writes = True

    def build(self, value: Any, ctx: Ctx, b: Builder) -> Json | None:
        return {"literal": value, "origin": self.origin}


class RefTo(Recipe):
    """A reference to a field that holds exactly the value."""

    kind = "ref"

    def __init__(self, selector: str) -> None:
        self.selector = selector
        self.name = f"ref@{selector}"

    def _loc(self, value: Any, ctx: Ctx) -> tuple[Source, Path] | None:
        for src, path in ctx.index.ref_locations(value, limit=50, call=ctx.current_call):
            if _selector(src) == self.selector:
                return src, path
        return None

    def applies(self, value: Any, ctx: Ctx) -> bool:
        return self._loc(value, ctx) is not None

    def build(self, value: Any, ctx: Ctx, b: Builder) -> Json | None:
        loc = self._loc(value, ctx)
        return None if loc is None else source_ref(loc[0], loc[1], b, ctx)


class CopyFrom(Recipe):
    """A `copy` extraction out of an output that holds the value (choices: that output)."""

    kind = "copy"

    def __init__(self, selector: str) -> None:
        self.selector = selector
        self.name = f"copy@{selector}"

    def _src(self, value: Any, ctx: Ctx) -> Source | None:
        for src in ctx.index.copy_locations(value, limit=50, call=ctx.current_call):
            if _selector(src) == self.selector:
                return src
        return None

    def applies(self, value: Any, ctx: Ctx) -> bool:
        return self._src(value, ctx) is not None

    def build(self, value: Any, ctx: Ctx, b: Builder) -> Json | None:
        src = self._src(value, ctx)
        if src is None:
            return None
        whole = source_arg(src, b, ctx)
        return b.extract(whole, {"kind": "copy", "choices": whole}, value)


class Extracted(Recipe):
    """An extraction over private data whose answer is the value: `copy` among choices the
    planner wrote, an `enum` of the planner's values, a `number`, `date` or `bool`."""

    kind = "extract"

    def __init__(self, how: str) -> None:
        self.how = how
        self.name = f"extract:{how}"
        self.planner_writes = how in ("copy-planner-choices", "enum")

    def applies(self, value: Any, ctx: Ctx) -> bool:
        if self.how in ("copy-planner-choices", "enum"):
            return isinstance(value, str) and bool(value)
        if self.how == "number":
            return isinstance(value, int | float) and not isinstance(value, bool)
        if self.how == "date":
            return isinstance(value, str) and parses_as(value, "day")
        if self.how == "bool":
            return isinstance(value, bool)
        return False

    def build(self, value: Any, ctx: Ctx, b: Builder) -> Json | None:
        if not self.applies(value, ctx):
            return None
        src = ctx.index.first_private(ctx.current_call)
        source = source_arg(src, b, ctx) if src is not None else {"ref": "trigger", "path": "payload"}
        decoy = "none of these"
        type_: Json
        if self.how == "copy-planner-choices":
            type_ = {"kind": "copy", "choices": {"literal": [value, decoy], "origin": "planner"}}
        elif self.how == "enum":
            type_ = {"kind": "enum", "values": [value, decoy]}
        else:
            type_ = {"kind": self.how}
        return b.extract(source, type_, value)


@dataclass(frozen=True, slots=True)
class Echo:
    """A tool that gives back what its argument `arg` carried: at `path` of its own output
    (`read` None), or at `path` of the output of a later read call (`read`: tool and args,
    where `{"ref": "$w"}` stands for the writing call's output)."""

    tool: str
    arg: str
    path: Path
    read: tuple[str, Json] | None = None
    item: bool = False   # the argument is an array; the value goes in as its one item
    #: The value comes back inside a larger text or as a key: only a `copy` takes it out.
    copy_only: bool = False

    @property
    def name(self) -> str:
        where = ".".join(str(p) for p in self.path) or "(whole)"
        if self.copy_only:
            where = "(inside)"
        if self.read is None:
            return f"echo:{self.tool}.{self.arg}->{where}"
        return f"store:{self.tool}.{self.arg}->{self.read[0]}.{where}"


def _substitute(arg: Any, name: str, step: str) -> Any:
    if isinstance(arg, Mapping):
        if arg.get("ref") == name:
            return {**arg, "ref": step}
        return {k: _substitute(v, name, step) for k, v in arg.items()}
    if isinstance(arg, list):
        return [_substitute(v, name, step) for v in arg]
    return arg


class Hop(Recipe):
    """Launder through a tool: write the value with `inner`, take it back via `echo`."""

    kind = "hop"

    def __init__(self, echo: Echo, inner: Recipe, *, copy_back: bool = False) -> None:
        self.echo = echo
        self.inner = inner
        self.copy_back = copy_back or echo.copy_only
        self.depth = inner.depth + 1
        self.planner_writes = inner.planner_writes
        back = "copy" if self.copy_back else "ref"
        self.name = f"{echo.name}[{back}] <- {inner.name}"

    def applies(self, value: Any, ctx: Ctx) -> bool:
        spec = ctx.catalog.tools.get(self.echo.tool)
        return spec is not None and self.inner.applies(value, ctx) and _fits(value, spec.args[self.echo.arg],
                                                                           self.echo.item)

    def build(self, value: Any, ctx: Ctx, b: Builder) -> Json | None:
        spec = ctx.catalog.tools[self.echo.tool]
        inner = self.inner.build(value, ctx, b)
        if inner is None:
            return None
        args: dict[str, Json] = {self.echo.arg: {"list": [inner]} if self.echo.item else inner}
        example = ctx.examples.get(self.echo.tool, {})
        for name in spec.required_args:
            if name not in args:
                if name not in example:
                    return None
                args[name] = ctx.text_literal(example[name])
        writer = b.call(self.echo.tool, args)
        if self.echo.read is None:
            holder, path = writer, self.echo.path
        else:
            tool, read_args = self.echo.read
            holder = b.call(tool, _substitute(read_args, "$w", writer))
            path = self.echo.path
        if self.copy_back:
            whole = {"ref": holder}
            return b.extract(whole, {"kind": "copy", "choices": whole}, value)
        return ref(holder, path)


def _fits(value: Any, spec: ArgSpec, item: bool) -> bool:
    if item:
        return spec.type == "array" and isinstance(value, str)
    if spec.type == "string":
        return isinstance(value, str)
    if spec.type in ("number", "integer"):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if spec.type == "array":
        return isinstance(value, list)
    return spec.type == "boolean" and isinstance(value, bool)


# ---------------------------------------------------------------------------- needs


@dataclass(slots=True)
class Need:
    """One argument of one target call the goal needs, with its value. `pieces` splits a
    value that mixes attacker text and private data; `free` values are ones the goal's
    judge does not look at (any value the call accepts will do)."""

    call: int
    arg: str
    value: Any
    role: str                      # attacker / private / derived / free
    pieces: list[Piece] | None = None

    @property
    def key(self) -> str:
        return f"{self.call}.{self.arg}"

    @property
    def expected(self) -> Any:
        """The value a route delivers: private pieces spelled as the data spells them."""
        if self.pieces:
            return "".join(p.text for p in self.pieces)
        return self.value


def build_need(need: Need, recipe: Recipe, ctx: Ctx, b: Builder) -> Json | None:
    """The argument that carries `need`'s value by `recipe` (per item for a list, per
    private piece for a derived value, attacker text around it as literals)."""
    value = need.value
    if need.pieces:
        parts: list[Json] = []
        for piece in need.pieces:
            if piece.private:
                built = recipe.build(piece.text, ctx, b)
                if built is None:
                    return None
                parts.append(built)
            elif piece.text:
                parts.append(ctx.text_literal(piece.text))
        return {"concat": parts}
    if isinstance(value, list) and value and all(isinstance(v, str | int | float) for v in value):
        items = []
        for item in value:
            built = recipe.build(item, ctx, b)
            if built is None:
                return None
            items.append(built)
        return {"list": items}
    return recipe.build(value, ctx, b)


def recipe_applies(need: Need, recipe: Recipe, ctx: Ctx) -> bool:
    if need.pieces:
        return all(recipe.applies(p.text, ctx) for p in need.pieces if p.private)
    if isinstance(need.value, list) and need.value:
        return all(recipe.applies(v, ctx) for v in need.value)
    return recipe.applies(need.value, ctx)


def direct_recipes(ctx: Ctx, values: Iterable[Any]) -> list[Recipe]:
    """Literals of every origin, references and copies at every source that holds one of
    `values`, and every extraction kind."""
    out: list[Recipe] = [Literal("planner"), Literal("instruction"), Literal("payload")]
    seen: set[str] = set()
    for value in values:
        for src, _ in ctx.index.ref_locations(value, limit=50, call=ctx.current_call):
            seen.add("ref@" + _selector(src))
        for src in ctx.index.copy_locations(value, limit=50, call=ctx.current_call):
            seen.add("copy@" + _selector(src))
    for name in sorted(seen):
        kind, _, sel = name.partition("@")
        out.append(RefTo(sel) if kind == "ref" else CopyFrom(sel))
    out += [Extracted(h) for h in ("copy-planner-choices", "enum", "number", "date", "bool")]
    return out


def inner_recipes(ctx: Ctx, values: Iterable[Any]) -> list[Recipe]:
    """What may feed a laundering hop: the direct recipes without origin lies."""
    return [r for r in direct_recipes(ctx, values) if r.name not in ("literal:instruction", "literal:payload")]


def hop_recipes(echoes: Iterable[Echo], inner: Iterable[Recipe]) -> list[Recipe]:
    out: list[Recipe] = []
    for echo in echoes:
        for r in inner:
            out.append(Hop(echo, r))
            if echo.read is not None and not echo.copy_only and r.kind != "copy":
                out.append(Hop(echo, r, copy_back=True))
    return out
