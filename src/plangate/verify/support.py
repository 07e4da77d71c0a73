"""Scratch environments for the support desk's tools (`plangate.deployments.support`).

Each scratch is a fresh `SupportRuntime` on an in-memory SQLite database holding two
customers: the one a call names (the *target*: its address is the `customer` argument's
canary) and another one. Every stored field of both is a canary of its resource:

    customer:<address>/profile   name, address, payout account (and the account's change log)
    customer:<address>/orders    order ids and items
    customer:<address>/invoices  invoice ids and billing names
    customer:<address>/tickets   ticket ids, subjects and messages
    customer:<address>/refunds   refund ids and reasons
    kb:public/<slug>, kb:internal/<slug>   article titles and texts

So a tool that named one customer and returned (or copied, or sent) anything of the
other customer's shows an undeclared flow. Outbound: replies and hand-overs (the `sent`
table) and refunds (money to the customer). Loopback only: nothing leaves the process.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plangate.catalog import Catalog, ToolSpec
from plangate.deployments.support.db import SupportDB
from plangate.deployments.support.runtime import SupportRuntime, support_catalog
from plangate.verify.canary import Canaries, Origin, as_text
from plangate.verify.engine import Case, CaseBuilder, Observation, Sent

KINDS = ("profile", "orders", "invoices", "tickets", "refunds")
TOTAL = 10_000.0  # an order's price: every canary refund amount (100-999) fits in it


def _name(address: str, kind: str) -> str:
    return f"customer:{address}/{kind}"


class SupportScratch:
    def __init__(self, canaries: Canaries) -> None:
        self.db = SupportDB.sqlite()
        self.rt = SupportRuntime(self.db)
        self.canaries = canaries
        c = canaries
        self.target = c.email(Origin("arg", "customer"))
        self.other = c.email(Origin("resource", "customer:other/profile", "email"))
        self.ids: dict[str, dict[str, str]] = {}
        self.customer("C-1", self.target)
        self.customer("C-2", self.other)
        world: dict[str, Any] = {"kb": []}
        for audience in ("public", "internal"):
            slug = f"seed-{audience}"
            name = f"kb:{audience}/{slug}"
            world["kb"].append({"slug": slug, "audience": audience,
                                "title": f"Title {c.text(Origin('resource', name, 'title'))}",
                                "body": f"common words {c.text(Origin('resource', name, 'body'))}"})
        self.db.seed(world)

    def customer(self, cid: str, address: str, *, order_id: str | None = None,
                 invoice_id: str | None = None, ticket_id: str | None = None) -> None:
        """A customer whose every stored field is a canary of its resource."""
        c = self.canaries

        def token(kind: str, field: str) -> str:
            return c.text(Origin("resource", _name(address, kind), field))

        order = order_id or token("orders", "id")
        self.ids[address] = {"order": order}
        self.db.seed({"customers": [{
            "id": cid, "email": address, "name": f"Name {token('profile', 'name')}",
            "address": f"Street {token('profile', 'address')}",
            "payout_account": token("profile", "payout_account"),
            "orders": [{"id": order, "placed": "2030-01-02", "status": "delivered",
                        "items": f"Item {token('orders', 'items')}", "total": TOTAL,
                        "invoice": invoice_id or token("invoices", "id")}],
            "refunds": [{"id": token("refunds", "id"), "order": order, "amount": 1.0,
                         "reason": f"Reason {token('refunds', 'reason')}"}],
            "tickets": [{"id": ticket_id or token("tickets", "id"),
                         "subject": f"Subject {token('tickets', 'subject')}",
                         "messages": [f"Message {token('tickets', 'message')}"]}],
        }]})

    # ---- the Scratch protocol ---------------------------------------------------------
    def call(self, tool: str, args: Mapping[str, Any]) -> Any:
        return self.rt.call(tool, args).value

    def observe(self) -> Observation:
        db = self.db
        stored: dict[str, Any] = {}
        for who in db.rows("SELECT * FROM customers ORDER BY id"):
            address, cid = who["email"], who["id"]
            changes = db.rows("SELECT field, old_value, new_value FROM account_changes "
                              "WHERE customer_id = ? ORDER BY seq", (cid,))
            stored[_name(address, "profile")] = {**who, "changes": changes}
            stored[_name(address, "orders")] = db.rows("SELECT * FROM orders WHERE customer_id = ?", (cid,))
            stored[_name(address, "invoices")] = db.rows("SELECT * FROM invoices WHERE customer_id = ?", (cid,))
            stored[_name(address, "refunds")] = db.rows("SELECT * FROM refunds WHERE customer_id = ?", (cid,))
            stored[_name(address, "tickets")] = db.rows(
                "SELECT t.id, t.subject, t.status, m.seq, m.author, m.body FROM tickets t "
                "LEFT JOIN ticket_messages m ON m.ticket_id = t.id WHERE t.customer_id = ? "
                "ORDER BY t.id, m.seq", (cid,))
        for article in db.rows("SELECT * FROM kb ORDER BY slug"):
            stored[f"kb:{article['audience']}/{article['slug']}"] = article
        snap = self.rt.snapshot()
        outbound = [Sent(s["kind"], (s["to"],), as_text([s["subject"], s["body"]])) for s in snap["sent"]]
        # Money goes back to the payment method of the customer's order (by customer id: an
        # account whose email changes receives nothing new).
        outbound += [Sent("refund", (f"payment method of {r['customer']}",), as_text(r))
                     for r in snap["refunds"]]
        return Observation({k: as_text(v) for k, v in stored.items()}, outbound)

    def close(self) -> None:
        self.db.close()


# ---- cases ------------------------------------------------------------------------------
def _arg(c: Canaries, name: str) -> str:
    return c.text(Origin("arg", name))


def _customer_only(s: SupportScratch, c: Canaries) -> Case:
    return Case({"customer": s.target})


def _record_get(kind: str, arg: str, s: SupportScratch, c: Canaries) -> Case:
    ident = _arg(c, arg)
    s.db.clear()
    s.customer("C-1", s.target, **{f"{kind}_id": ident})
    s.customer("C-2", s.other)
    return Case({"customer": s.target, arg: ident})


def _orders_search(s: SupportScratch, c: Canaries) -> Case:
    return Case({"customer": s.target, "query": ""}, {"query": "an empty query matches every order"})


def _ticket_create(s: SupportScratch, c: Canaries) -> Case:
    return Case({"customer": s.target, "subject": _arg(c, "subject"), "body": _arg(c, "body")})


def _ticket_reply(s: SupportScratch, c: Canaries) -> Case:
    case = _record_get("ticket", "ticket_id", s, c)
    return Case({**case.args, "body": _arg(c, "body")})


def _refund_issue(s: SupportScratch, c: Canaries) -> Case:
    case = _record_get("order", "order_id", s, c)
    return Case({**case.args, "amount": c.amount(Origin("arg", "amount")), "reason": _arg(c, "reason")})


def _account_update(field: str, s: SupportScratch, c: Canaries) -> Case:
    value = c.email(Origin("arg", "value")) if field == "email" else _arg(c, "value")
    return Case({"customer": s.target, "field": field, "value": value},
                {"field": "one of name, email, address, payout_account"}, name=f"field {field}")


def _kb(s: SupportScratch, c: Canaries) -> Case:
    return Case({"query": "common words"}, {"query": "words the seeded articles hold (a canary matches none)"})


def _kb_publish(s: SupportScratch, c: Canaries) -> Case:
    return Case({"slug": _arg(c, "slug"), "title": _arg(c, "title"), "body": _arg(c, "body")})


def _customers_search(s: SupportScratch, c: Canaries) -> Case:
    return Case({"query": ""}, {"query": "an empty query lists every customer"})


def _reply(s: SupportScratch, c: Canaries) -> Case:
    return Case({"to": c.email(Origin("arg", "to")), "subject": _arg(c, "subject"), "body": _arg(c, "body")})


def _handover(s: SupportScratch, c: Canaries) -> Case:
    return Case({"customer": s.target, "summary": _arg(c, "summary")})


def _partial(fn: Any, *first: Any) -> CaseBuilder:
    def build(s: Any, c: Canaries) -> Case:
        return fn(*first, s, c)  # type: ignore[no-any-return]
    return build


CASES: dict[str, list[CaseBuilder]] = {
    "customer_profile": [_customer_only], "orders_list": [_customer_only],
    "order_get": [_partial(_record_get, "order", "order_id")],
    "orders_search": [_orders_search], "invoices_list": [_customer_only],
    "invoice_get": [_partial(_record_get, "invoice", "invoice_id")],
    "tickets_list": [_customer_only], "ticket_get": [_partial(_record_get, "ticket", "ticket_id")],
    "refunds_list": [_customer_only], "ticket_create": [_ticket_create], "ticket_reply": [_ticket_reply],
    "refund_issue": [_refund_issue],
    "account_update": [_partial(_account_update, f) for f in ("name", "email", "address", "payout_account")],
    "kb_search": [_kb], "kb_internal": [_kb], "kb_publish": [_kb_publish],
    "customers_search": [_customers_search], "reply": [_reply], "handover": [_handover],
}


class SupportAdapter:
    """Scratch environments for `plangate/deployments/support/catalog.yaml` (or a variant
    with other annotations, as the tests use)."""

    name = "support"

    def __init__(self, catalog: Catalog | None = None) -> None:
        self.catalog = catalog or support_catalog()

    def scratch(self, canaries: Canaries) -> SupportScratch:
        return SupportScratch(canaries)

    def cases(self, tool: str, spec: ToolSpec) -> list[CaseBuilder] | str:
        return CASES.get(tool) or f"the support runtime has no scratch case for {tool!r}"

    def probes(self, scratch: SupportScratch) -> list[tuple[str, dict[str, Any]]]:
        out: list[tuple[str, dict[str, Any]]] = []
        for who in scratch.db.rows("SELECT email FROM customers ORDER BY id"):
            out += [(tool, {"customer": who["email"]}) for tool in
                    ("customer_profile", "orders_list", "invoices_list", "tickets_list", "refunds_list")]
        out += [("kb_search", {"query": ""}), ("kb_internal", {"query": ""})]
        return [(tool, args) for tool, args in out if tool in self.catalog.tools]
