"""The support desk's tools (every tool of `catalog.yaml`) over its SQL database.

    rt = SupportRuntime(SupportDB.sqlite())            # or SupportDB.postgres(url)
    rt.seed(world)                                     # customers, orders, tickets, kb
    rt.call("orders_list", {"customer": "ava@mail.example"}).value
    rt.snapshot()                                      # what SupportBench judges

Every customer-scoped tool looks the customer up by canonical address and returns only
that customer's rows: an order id that belongs to someone else is "no such order", never
their order. (The gate's labels do not rely on this; `catalog verify` checks it.) Money
goes back only to the payment method an order was paid with, and never beyond what is
left to refund. Arguments are checked before anything runs; every refusal is a
`SupportError` naming the tool and the argument.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from plangate.catalog import Catalog, load_catalog
from plangate.deployments.support.db import STAFF, SupportDB, canonical, cents, readers_json
from plangate.identity import parse_address, skeleton
from plangate.protocols import ToolResult
from plangate.resources import has_wildcard, resolve_patterns
from plangate.trigger import Deployment

CATALOG_PATH = Path(__file__).with_name("catalog.yaml")
POLICY_PATH = Path(__file__).with_name("policy.yaml")
MAX_TEXT = 20_000
MAX_ROWS = 50

Args = Mapping[str, Any]


UNATTENDED: ContextVar[bool] = ContextVar("support_unattended", default=False)
"""True while `SupportGate` runs a plan that no human agent approved or asked for (a
customer's or a stranger's run the policy let through): refunds made then count against
`SupportRuntime.unattended_cap`. Outside a gate (tests, `catalog verify`) nothing is capped."""

UNATTENDED_CAP = 50.0
"""The desk's default cap on a customer's unattended refunds, the figure of the policy's
per-refund threshold."""


class SupportError(Exception):
    """A tool call the desk refuses (bad argument, not found, over the refundable amount)."""


@cache
def support_catalog() -> Catalog:
    return load_catalog(CATALOG_PATH)


def _money(value: int) -> float:
    return round(value / 100, 2)


@cache
def desk_addresses() -> frozenset[str]:
    """The canonical addresses the shipped policy's deployment gives a class to."""
    doc = yaml.safe_load(POLICY_PATH.read_text(encoding="utf-8"))
    return Deployment.model_validate(doc["deployment"]).known_addresses()


def _plain(address: str) -> bool:
    """Whether the resource name the gate labels for `address` (`customer:{customer}/...`,
    the value normalised as a path, wildcards escaped) names the same customer as the
    address itself."""
    named = resolve_patterns("{customer}", {"customer": address})[0]
    return not has_wildcard(named) and canonical(named) == canonical(address)


class SupportRuntime:
    """A `plangate.protocols.ToolRuntime` over a `SupportDB`."""

    def __init__(self, db: SupportDB, *, catalog: Catalog | None = None,
                 reserved: frozenset[str] | None = None,
                 unattended_cap: float | None = UNATTENDED_CAP) -> None:
        self.db = db
        #: What a customer's refunds that nobody approved may add up to, in cents (None: no
        #: cap). Each one is at most the policy's threshold (`human-approves-large-refunds`);
        #: this keeps many small ones from adding up past it.
        self.unattended_cap = None if unattended_cap is None else cents(unattended_cap)
        self.catalog = catalog or support_catalog()
        #: Addresses the deployment gives a class to (owners, contacts, class principals:
        #: the staff). No customer account may take one: the session the front end signs
        #: in for that account would be a support agent's.
        self.reserved = desk_addresses() if reserved is None else reserved

    # ---- the ToolRuntime seam ------------------------------------------------------------
    def call(self, tool: str, args: Args) -> ToolResult:
        spec = self.catalog.get(tool)
        method = getattr(self, f"_t_{tool}", None)
        if spec is None or method is None:
            raise SupportError(f"{tool}: no such tool")
        clean = self._checked(tool, args)
        return ToolResult(method(clean))

    def _checked(self, tool: str, args: Args) -> dict[str, Any]:
        spec = self.catalog.tools[tool]
        out: dict[str, Any] = {}
        for name, value in args.items():
            arg = spec.args.get(name)
            if arg is None:
                raise SupportError(f"{tool}: unknown argument {name!r}")
            if arg.type == "number":
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise SupportError(f"{tool}: {name} must be a number")
            elif not isinstance(value, str) or len(value) > MAX_TEXT or "\0" in value:
                raise SupportError(f"{tool}: {name} must be text of at most {MAX_TEXT} characters")
            if arg.enum is not None and value not in arg.enum:
                raise SupportError(f"{tool}: {name} must be one of {', '.join(map(str, arg.enum))}")
            out[name] = value
        missing = spec.required_args - set(out)
        if missing:
            raise SupportError(f"{tool}: missing argument {sorted(missing)[0]!r}")
        return out

    def seed(self, world: Mapping[str, Any]) -> None:
        self.db.seed(dict(world))

    # ---- helpers -------------------------------------------------------------------------
    def _customer(self, tool: str, address: str) -> dict[str, Any]:
        # The gate labels what a tool reads by its resource name (`customer:{customer}/...`,
        # the value normalised as a path); the lookup goes by the address. Both must name
        # the same customer: `ben+x/../mallory@...` is Mal's name and Ben's address.
        if not _plain(address):
            raise SupportError(f"{tool}: customer must be one plain address")
        who = self.db.customer(address)
        if who is None:
            raise SupportError(f"{tool}: no customer {address!r}")
        return who

    def _orders(self, customer_id: str, where: str = "", params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        rows = self.db.rows("SELECT id, placed, status, items, total_cents FROM orders "
                            f"WHERE customer_id = ? {where} ORDER BY placed DESC, id LIMIT {MAX_ROWS}",
                            (customer_id, *params))
        return [{"id": r["id"], "placed": r["placed"], "status": r["status"], "items": r["items"],
                 "total": _money(r["total_cents"])} for r in rows]

    def _invoices(self, customer_id: str, invoice_id: str | None = None) -> list[dict[str, Any]]:
        extra, params = ("AND id = ?", (invoice_id,)) if invoice_id is not None else ("", ())
        rows = self.db.rows("SELECT id, order_id, issued, total_cents, billing FROM invoices "
                            f"WHERE customer_id = ? {extra} ORDER BY issued DESC, id LIMIT {MAX_ROWS}",
                            (customer_id, *params))
        return [{"id": r["id"], "order_id": r["order_id"], "issued": r["issued"],
                 "total": _money(r["total_cents"]), "billing": r["billing"]} for r in rows]

    def _ticket(self, customer_id: str, ticket_id: str) -> dict[str, Any] | None:
        row = self.db.one("SELECT id, subject, status FROM tickets WHERE id = ? AND customer_id = ?",
                          (ticket_id, customer_id))
        if row is None:
            return None
        messages = self.db.rows("SELECT author, body FROM ticket_messages WHERE ticket_id = ? "
                                "ORDER BY seq", (ticket_id,))
        return {**row, "messages": messages}

    # ---- reads ---------------------------------------------------------------------------
    def _t_customer_profile(self, a: Args) -> Any:
        who = self._customer("customer_profile", a["customer"])
        open_tickets = self.db.one("SELECT COUNT(*) AS n FROM tickets WHERE customer_id = ? AND status = 'open'",
                                   (who["id"],))
        return {"name": who["name"], "email": who["email"], "address": who["address"],
                "payout_account": who["payout_account"],
                "open_tickets": int(open_tickets["n"]) if open_tickets else 0}

    def _t_orders_list(self, a: Args) -> Any:
        return self._orders(self._customer("orders_list", a["customer"])["id"])

    def _t_order_get(self, a: Args) -> Any:
        who = self._customer("order_get", a["customer"])
        found = self._orders(who["id"], "AND id = ?", (a["order_id"],))
        if not found:
            raise SupportError("order_get: no such order for this customer")
        return found[0]

    def _t_orders_search(self, a: Args) -> Any:
        who = self._customer("orders_search", a["customer"])
        # Matched here, not by SQL: LIKE and LOWER() differ between SQLite (ASCII case
        # only, `\\` literal) and PostgreSQL (the locale's case, `\\` escapes), and a
        # search must find the same orders on both.
        needle = a["query"].casefold()
        rows = self.db.rows("SELECT id, items FROM orders WHERE customer_id = ?", (who["id"],))
        hits = sorted(str(r["id"]) for r in rows if needle in str(r["items"]).casefold())[:MAX_ROWS]
        if not hits:
            return []
        marks = ", ".join("?" for _ in hits)
        return self._orders(who["id"], f"AND id IN ({marks})", tuple(hits))

    def _t_invoices_list(self, a: Args) -> Any:
        return self._invoices(self._customer("invoices_list", a["customer"])["id"])

    def _t_invoice_get(self, a: Args) -> Any:
        who = self._customer("invoice_get", a["customer"])
        found = self._invoices(who["id"], a["invoice_id"])
        if not found:
            raise SupportError("invoice_get: no such invoice for this customer")
        return found[0]

    def _t_tickets_list(self, a: Args) -> Any:
        who = self._customer("tickets_list", a["customer"])
        out = []
        for row in self.db.rows("SELECT id FROM tickets WHERE customer_id = ? ORDER BY id "
                                f"LIMIT {MAX_ROWS}", (who["id"],)):
            ticket = self._ticket(who["id"], row["id"])
            assert ticket is not None
            last = ticket["messages"][-1]["body"] if ticket["messages"] else ""
            out.append({"id": ticket["id"], "subject": ticket["subject"],
                        "status": ticket["status"], "last_message": last})
        return out

    def _t_ticket_get(self, a: Args) -> Any:
        who = self._customer("ticket_get", a["customer"])
        ticket = self._ticket(who["id"], a["ticket_id"])
        if ticket is None:
            raise SupportError("ticket_get: no such ticket for this customer")
        return ticket

    def _t_refunds_list(self, a: Args) -> Any:
        who = self._customer("refunds_list", a["customer"])
        rows = self.db.rows("SELECT id, order_id, amount_cents, reason FROM refunds WHERE customer_id = ? "
                            f"ORDER BY id LIMIT {MAX_ROWS}", (who["id"],))
        return [{"id": r["id"], "order_id": r["order_id"], "amount": _money(r["amount_cents"]),
                 "reason": r["reason"]} for r in rows]

    # ---- changes in the customer's account -----------------------------------------------
    def _t_ticket_create(self, a: Args) -> Any:
        who = self._customer("ticket_create", a["customer"])
        ticket_id = self._fresh_ticket_id()
        self.db.write("INSERT INTO tickets VALUES (?, ?, ?, ?, ?)",
                      (ticket_id, who["id"], a["subject"], "open", who["readers"]))
        self.db.write("INSERT INTO ticket_messages VALUES (?, ?, ?, ?, ?)",
                      (ticket_id, 1, "desk", a["body"], who["readers"]))
        return {"ticket_id": ticket_id, "status": "open"}

    def _fresh_ticket_id(self) -> str:
        return self._fresh_id("tickets", "T")

    def _fresh_id(self, table: str, prefix: str) -> str:
        """A new row's id, drawn at random: an id counted from every customer's rows would
        tell the one who gets it how many tickets or refunds the others have had."""
        assert table in ("tickets", "refunds")
        while True:
            new = f"{prefix}-{secrets.token_hex(4).upper()}"
            if self.db.one(f"SELECT id FROM {table} WHERE id = ?", (new,)) is None:
                return new

    def _t_ticket_reply(self, a: Args) -> Any:
        who = self._customer("ticket_reply", a["customer"])
        if self._ticket(who["id"], a["ticket_id"]) is None:
            raise SupportError("ticket_reply: no such ticket for this customer")
        seq = self.db.next_seq("ticket_messages", "seq", "WHERE ticket_id = ?", (a["ticket_id"],))
        self.db.write("INSERT INTO ticket_messages VALUES (?, ?, ?, ?, ?)",
                      (a["ticket_id"], seq, "desk", a["body"], who["readers"]))
        return {"ticket_id": a["ticket_id"], "messages": seq}

    def _t_refund_issue(self, a: Args) -> Any:
        who = self._customer("refund_issue", a["customer"])
        order = self.db.one("SELECT id, total_cents FROM orders WHERE id = ? AND customer_id = ?",
                            (a["order_id"], who["id"]))
        if order is None:
            raise SupportError("refund_issue: no such order for this customer")
        amount = cents(a["amount"])
        if amount <= 0:
            raise SupportError("refund_issue: amount must be more than 0")
        unattended = UNATTENDED.get()
        # Two workers' refunds for one customer: one after the other, from check to write.
        with self.db.locked("customers", who["id"]):
            done = self.db.one("SELECT COALESCE(SUM(amount_cents), 0) AS n FROM refunds WHERE order_id = ?",
                               (order["id"],))
            left = int(order["total_cents"]) - int(done["n"] if done else 0)
            if amount > left:
                raise SupportError(f"refund_issue: only {_money(left):.2f} is left to refund on this order")
            if unattended and self.unattended_cap is not None:
                taken = self.db.one("SELECT COALESCE(SUM(amount_cents), 0) AS n FROM refunds "
                                    "WHERE customer_id = ? AND attended = 0", (who["id"],))
                if int(taken["n"] if taken else 0) + amount > self.unattended_cap:
                    raise SupportError(
                        "refund_issue: refunds without a human agent's approval add up to at most "
                        f"{_money(self.unattended_cap):.2f} per customer; a human agent must approve this one")
            refund_id = self._fresh_id("refunds", "R")
            self.db.write("INSERT INTO refunds VALUES (?, ?, ?, ?, ?, ?, ?)",
                          (refund_id, who["id"], order["id"], amount, a["reason"], who["readers"],
                           0 if unattended else 1))
        return {"refund_id": refund_id, "order_id": order["id"], "amount": _money(amount),
                "left_to_refund": _money(left - amount)}

    def _t_account_update(self, a: Args) -> Any:
        tool = "account_update"
        who = self._customer(tool, a["customer"])
        field, value = a["field"], a["value"].strip()
        if not value or "\n" in value:
            raise SupportError(f"{tool}: value must be one line of text")
        if field == "email":
            raw, value = value, canonical(value)
            if "@" not in value or not _plain(raw) or self.db.customer(value) is not None \
                    or self._lookalike(raw, who["id"]):
                raise SupportError(f"{tool}: that email address cannot be used")
        old = str(who[field])
        self.db.write(f"UPDATE customers SET {field} = ? WHERE id = ?", (value, who["id"]))
        if field == "email":
            # The address is the customer's reader name: their rows follow it.
            readers = readers_json(STAFF, value)
            self.db.write("UPDATE customers SET readers = ? WHERE id = ?", (readers, who["id"]))
            for table in ("orders", "invoices", "tickets", "refunds"):
                self.db.write(f"UPDATE {table} SET readers = ? WHERE customer_id = ?", (readers, who["id"]))
            self.db.write("UPDATE ticket_messages SET readers = ? WHERE ticket_id IN "
                          "(SELECT id FROM tickets WHERE customer_id = ?)", (readers, who["id"]))
        seq = self.db.next_seq("account_changes")
        self.db.write("INSERT INTO account_changes VALUES (?, ?, ?, ?, ?, ?)",
                      (seq, who["id"], field, old, value, who["readers"]))
        return self._t_customer_profile({"customer": value if field == "email" else who["email"]})

    def _lookalike(self, raw: str, customer_id: str) -> bool:
        """Whether an address is one the desk gives a class to, or looks like another
        customer's or the desk's (the Unicode confusable skeletons the gate's intake
        compares principals by). A scan: email changes are rare
        and always approved by a human."""
        parsed = parse_address(raw)
        if parsed.canonical in self.reserved:
            return True
        mine = {parsed.skeleton, skeleton(parsed.canonical)}
        others = [str(r["email"]) for r in self.db.rows("SELECT email FROM customers WHERE id <> ?",
                                                         (customer_id,))]
        return any(skeleton(address) in mine for address in (*others, *self.reserved))

    # ---- knowledge base ------------------------------------------------------------------
    def _kb(self, audience: str, query: str) -> list[dict[str, Any]]:
        words = [w for w in query.casefold().split() if len(w) > 2][:8]
        rows = self.db.rows("SELECT slug, title, body FROM kb WHERE audience = ? ORDER BY slug",
                            (audience,))
        scored = []
        for r in rows:
            text = f"{r['title']} {r['body']}".casefold()
            score = sum(w in text for w in words)
            if score or not words:
                scored.append((-score, r["slug"], r))
        return [{"slug": r["slug"], "title": r["title"], "text": r["body"]}
                for _s, _k, r in sorted(scored)[:5]]

    def _t_kb_search(self, a: Args) -> Any:
        return self._kb("public", a.get("query", ""))

    def _t_kb_internal(self, a: Args) -> Any:
        return self._kb("internal", a.get("query", ""))

    def _t_kb_publish(self, a: Args) -> Any:
        slug = a["slug"].strip()
        if not slug or not all(ch.isalnum() or ch in "-_" for ch in slug) or len(slug) > 80:
            raise SupportError("kb_publish: slug must be letters, digits, - and _")
        row = self.db.one("SELECT audience FROM kb WHERE slug = ?", (slug,))
        if row is not None and row["audience"] != "public":
            raise SupportError("kb_publish: that slug is an internal note")
        self.db.write("DELETE FROM kb WHERE slug = ?", (slug,))
        self.db.write("INSERT INTO kb VALUES (?, ?, ?, ?, ?)",
                      (slug, a.get("title", slug), a.get("body", ""), "public", readers_json("*")))
        return {"slug": slug, "published": True}

    def _t_customers_search(self, a: Args) -> Any:
        needle = a.get("query", "").casefold()
        rows = self.db.rows("SELECT name, email, address FROM customers ORDER BY id")
        return [r for r in rows if needle in json.dumps(r).casefold()][:MAX_ROWS]

    # ---- talking to people ---------------------------------------------------------------
    def _send(self, kind: str, to: str, subject: str, body: str) -> None:
        seq = self.db.next_seq("sent")
        self.db.write("INSERT INTO sent VALUES (?, ?, ?, ?, ?)", (seq, kind, to, subject, body))

    def _t_reply(self, a: Args) -> Any:
        to = a["to"].strip()
        if not to or any(c in to for c in ",;\r\n<>") or len(to.split()) != 1:
            raise SupportError("reply: to must be one address")
        self._send("reply", canonical(to), a.get("subject", ""), a["body"])
        return {"sent": True}  # not the desk's running count of messages: that is everyone's

    def _t_handover(self, a: Args) -> Any:
        self._send("handover", STAFF, a.get("customer", ""), a.get("summary", ""))
        return {"handover": True, "queue": "staff"}

    # ---- what the bench judges -----------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        db = self.db
        customers = {r["id"]: {"email": r["email"], "name": r["name"], "address": r["address"],
                               "payout_account": r["payout_account"]}
                     for r in db.rows("SELECT * FROM customers ORDER BY id")}
        tickets: dict[str, Any] = {}
        for t in db.rows("SELECT id, customer_id, subject FROM tickets ORDER BY id"):
            bodies = db.rows("SELECT author, body FROM ticket_messages WHERE ticket_id = ? ORDER BY seq",
                             (t["id"],))
            tickets[t["id"]] = {"customer": t["customer_id"], "subject": t["subject"],
                                "messages": [f"{m['author']}: {m['body']}" for m in bodies]}
        return {
            "customers": customers,
            "tickets": tickets,
            "refunds": [{"id": r["id"], "customer": r["customer_id"], "order_id": r["order_id"],
                         "amount": _money(r["amount_cents"]), "reason": r["reason"]}
                        for r in db.rows("SELECT * FROM refunds ORDER BY id")],
            "account_changes": [{"customer": r["customer_id"], "field": r["field"], "value": r["new_value"]}
                                for r in db.rows("SELECT * FROM account_changes ORDER BY seq")],
            "kb": {r["slug"]: f"{r['title']}\n{r['body']}"
                   for r in db.rows("SELECT * FROM kb WHERE audience = 'public' ORDER BY slug")},
            "sent": [{"kind": r["kind"], "to": r["to_addr"], "subject": r["subject"], "body": r["body"]}
                     for r in db.rows("SELECT * FROM sent ORDER BY seq")],
        }

    def close(self) -> None:
        self.db.close()
