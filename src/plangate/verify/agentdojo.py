"""Scratch environments for the four AgentDojo suites (`plangate.bench.agentdojo`).

Each scratch is the suite's default environment (AgentDojo's own YAML, default injection
vectors), with canaries added to every kind of stored item its tools read: mail, events,
files and contacts (workspace, travel); messages, pages and memberships (slack);
transactions, standing orders, files, balance, IBAN and profile (banking); the traveller's
profile and the directories (travel). Tools run through AgentDojo's `FunctionsRuntime`,
in memory; nothing leaves the process.

Resource names (the catalogs use the same):

- workspace and travel: `mail:<id>`, `calendar:<id>`, `drive:<id>`, `contacts:<address>`;
- travel: `user:profile`, `hotels:<name>`, `restaurants:<name>`, `car_rental:<name>`,
  `flights:<number>`, `reservation:current`;
- slack: `channel:<name>` (its messages), `inbox:<user>` (direct messages),
  `members:<channel>`, `slack:users`, `slack:channels`, `web:<url>`;
- banking: `bank:iban`, `bank:balance`, `bank:transactions`, `bank:scheduled`,
  `files:<path>`, `user:profile`, `user:password`.

What leaves (outbound): sent mail, rendered as the recipient gets it (attached files and
events included); a file shared with, or an event opened to, a new party (they can now
read it); channel and direct messages; a new channel member (the channel's history is
now theirs to read); pages posted and URLs requested; payments, standing orders and
reservations (their payee or business gets them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from functools import cache
from importlib import resources as pkg
from typing import Any

from plangate.catalog import Catalog, ToolSpec, load_catalog
from plangate.verify.canary import Canaries, Origin, as_text
from plangate.verify.engine import Case, CaseBuilder, Observation, Sent, resource

SUITES = ("workspace", "travel", "banking", "slack")
SEED_DAY = "2024-05-20"


@cache
def suite_catalog(suite: str) -> Catalog:
    path = pkg.files("plangate.bench.agentdojo").joinpath(f"catalog_{suite}.yaml")
    with pkg.as_file(path) as real:
        return load_catalog(real)


def _types() -> Any:
    from agentdojo.default_suites.v1.tools import types

    return types


def _dump(value: Any) -> Any:
    from plangate.bench.agentdojo.replay import to_jsonable

    return to_jsonable(value)


class AgentDojoScratch:
    def __init__(self, suite: str, canaries: Canaries) -> None:
        from plangate.bench.agentdojo import replay as rp
        from plangate.bench.agentdojo.gatebench import AgentDojoTools

        rp.get_suite(suite)
        self.suite = suite
        self.env = rp.load_environment(suite, {})
        self.tools = AgentDojoTools(suite, self.env)
        self.canaries = canaries
        self.owner = _owner(self.env)
        SEEDERS[suite](self)
        # Only what happens from here on can leave: the default data's own history is not
        # something this call sent.
        self._old_mail = set(getattr(getattr(self.env, "inbox", None), "emails", {}))
        self._access: set[tuple[str, str, str]] | None = None

    def newly_readable(self, kind: str, who: str, what: str) -> bool:
        """Whether `who` can read `what` only since the first observation (an event
        opened to a new participant, a file shared, a new channel member)."""
        key = (kind, who, what)
        if self._access is None:
            self._seen.add(key)
            return False
        return key not in self._access

    def call(self, tool: str, args: Mapping[str, Any]) -> Any:
        return self.tools.call(tool, args).value

    def observe(self) -> Observation:
        stored: dict[str, Any] = {}
        outbound: list[Sent] = []
        self._seen: set[tuple[str, str, str]] = set()
        for part in OBSERVERS[self.suite]:
            part(self, stored, outbound)
        if self._access is None:
            self._access = self._seen
        return Observation({k: as_text(v) for k, v in stored.items()}, outbound)

    def close(self) -> None:
        return

    # ---- seeding helpers ----------------------------------------------------------------
    def r(self, name: str, part: str) -> str:
        return self.canaries.text(Origin("resource", name, part))

    def email(self, email_id: str, *, status: str = "received", body: str = "",
              subject: str = "") -> str:
        """A message in the inbox whose sender, subject and body are canaries."""
        types = _types()
        name = resource("mail", email_id)
        sender = (self.owner if status != "received"
                  else self.canaries.email(Origin("resource", name, "sender")))
        recipients = ([self.owner] if status == "received"
                      else [self.canaries.email(Origin("resource", name, "recipients"))])
        self.env.inbox.emails[email_id] = types.Email(
            id_=email_id, sender=sender, recipients=recipients,
            subject=subject or f"Subject {self.r(name, 'subject')}",
            body=f"{body} Body {self.r(name, 'body')}", status=status, read=False,
            timestamp=dt.datetime(2024, 5, 10, 9, 0))
        return email_id

    def event(self, event_id: str, day: str = SEED_DAY, title: str = "") -> str:
        types = _types()
        name = resource("calendar", event_id)
        start = dt.datetime.fromisoformat(f"{day}T09:00")
        self.env.calendar.events[event_id] = types.CalendarEvent(
            id_=event_id, title=f"{title} Title {self.r(name, 'title')}",
            description=f"Description {self.r(name, 'description')}",
            start_time=start, end_time=start + dt.timedelta(hours=1),
            location=f"Location {self.r(name, 'location')}",
            participants=[self.owner, self.canaries.email(Origin("resource", name, "participants"))])
        return event_id

    def file(self, file_id: str, filename: str = "", content: str = "") -> str:
        types = _types()
        name = resource("drive", file_id)
        self.env.cloud_drive.files[file_id] = types.CloudDriveFile(
            id_=file_id, filename=filename or f"{self.r(name, 'filename')}.docx",
            content=f"{content} Content {self.r(name, 'content')}", owner=self.owner,
            last_modified=dt.datetime(2024, 5, 1, 12, 0))
        return file_id


def _owner(env: Any) -> str:
    for field in ("inbox", "calendar", "cloud_drive"):
        holder = getattr(env, field, None)
        if holder is not None:
            return str(holder.account_email)
    return "owner"


# ---------------------------------------------------------------------------- seeding


def _seed_mail_calendar(s: AgentDojoScratch) -> None:
    s.email("9001")
    s.email("9002", status="sent")
    s.email("9003", status="draft")
    s.event("9101")
    from agentdojo.default_suites.v1.tools.email_client import EmailContact

    address = s.canaries.email(Origin("resource", "contacts:*", "email"))
    s.env.inbox.contact_list.append(EmailContact(email=address, name=f"Contact {s.r('contacts:*', 'name')}"))


def _seed_workspace(s: AgentDojoScratch) -> None:
    _seed_mail_calendar(s)
    s.file("9201")


def _seed_travel(s: AgentDojoScratch) -> None:
    _seed_mail_calendar(s)
    user = s.env.user
    for field in ("first_name", "last_name", "ID_number", "email", "phone_number", "address",
                  "passport_number", "bank_account_number", "credit_card_number"):
        setattr(user, field, s.r("user:profile", field))
    _seed_place(s, "hotels", "Seed Hotel", "Paris")
    _seed_place(s, "restaurants", "Seed Restaurant", "Paris")
    _seed_place(s, "car_rental", "Seed Cars", "Paris")
    flights = s.env.flights.flight_list
    number = "SEED1"
    flights.append(type(flights[0])(
        airline=s.r(resource("flights", number), "airline"), flight_number=number,
        departure_city="Paris", arrival_city="London",
        departure_time=dt.datetime(2024, 5, 20, 9, 0), arrival_time=dt.datetime(2024, 5, 20, 10, 0),
        price=s.canaries.amount(Origin("resource", resource("flights", number), "price")),
        contact_information=s.r(resource("flights", number), "contact_information")))


def _seed_place(s: AgentDojoScratch, kind: str, name: str, city: str) -> None:
    """A hotel, restaurant or car rental company called `name`, every field a canary."""
    holder = getattr(s.env, kind)
    items = holder.hotel_list if kind == "hotels" else (
        holder.restaurant_list if kind == "restaurants" else holder.company_list)
    r = resource(kind, name)
    c = s.canaries
    fields: dict[str, Any] = {
        "name": name, "city": city, "address": s.r(r, "address"),
        "rating": float(c.amount(Origin("resource", r, "rating"), 1, 4)),
        "reviews": [s.r(r, "reviews")],
    }
    if kind == "hotels":
        fields.update(price_min=c.amount(Origin("resource", r, "price_min"), 100, 199),
                      price_max=c.amount(Origin("resource", r, "price_max"), 200, 299))
    elif kind == "restaurants":
        fields.update(price_per_person=c.amount(Origin("resource", r, "price")),
                      operating_hours=s.r(r, "operating_hours"), contact_information=s.r(r, "contact"),
                      cuisine_type=s.r(r, "cuisine_type"), dietary_restrictions=s.r(r, "dietary"))
    else:
        fields.update(price_per_day=c.amount(Origin("resource", r, "price")), contact_information=s.r(r, "contact"),
                      car_types_available=[s.r(r, "car_types")], fuel_options=[s.r(r, "fuel_options")])
    items.append(type(items[0])(**fields))


def _seed_banking(s: AgentDojoScratch) -> None:
    acct = s.env.bank_account
    c = s.canaries
    # The stored transactions keep the account's old IBAN: only what a call copies from
    # `bank:iban` from now on carries its canary.
    old_iban = acct.iban
    acct.iban = s.r("bank:iban", "iban").upper()
    acct.balance = c.amount(Origin("resource", "bank:balance", "balance"), 10_000, 99_999)
    tx = type(acct.transactions[0])
    acct.transactions.append(tx(
        id=9001, sender=s.r("bank:transactions", "sender"), recipient=old_iban,
        amount=c.amount(Origin("resource", "bank:transactions", "amount")),
        subject=s.r("bank:transactions", "subject"), date="2024-05-01", recurring=False))
    acct.scheduled_transactions.append(tx(
        id=9002, sender=old_iban, recipient=s.r("bank:scheduled", "recipient"),
        amount=c.amount(Origin("resource", "bank:scheduled", "amount")),
        subject=s.r("bank:scheduled", "subject"), date="2024-06-01", recurring=True))
    s.env.filesystem.files["seed.txt"] = f"Bill {s.r(resource('files', 'seed.txt'), 'content')}"
    user = s.env.user_account
    for field in ("first_name", "last_name", "street", "city"):
        setattr(user, field, s.r("user:profile", field))
    user.password = s.r("user:password", "password")


def _seed_slack(s: AgentDojoScratch) -> None:
    slack = s.env.slack
    msg = _message_type()
    for channel in slack.channels:
        name = resource("channel", channel)
        slack.channel_inbox.setdefault(channel, []).append(
            msg(sender="Alice", recipient=channel, body=f"Message {s.r(name, 'body')}"))
    for user in slack.users:
        slack.user_inbox.setdefault(user, []).append(
            msg(sender="Bob", recipient=user, body=f"Direct {s.r(resource('inbox', user), 'body')}"))
    url = "www.seed-site.com"
    s.env.web.web_content[url] = f"Page {s.r(resource('web', url), 'content')}"


def _message_type() -> Any:
    from agentdojo.default_suites.v1.tools.slack import Message

    return Message


SEEDERS: dict[str, Callable[[AgentDojoScratch], None]] = {
    "workspace": _seed_workspace, "travel": _seed_travel, "banking": _seed_banking, "slack": _seed_slack,
}


# ---------------------------------------------------------------------------- observing

Stored = dict[str, Any]
Observer = Callable[[AgentDojoScratch, Stored, list[Sent]], None]


def _observe_mail(s: AgentDojoScratch, stored: Stored, outbound: list[Sent]) -> None:
    inbox = s.env.inbox
    for email in inbox.emails.values():
        stored[resource("mail", email.id_)] = _dump(email)
        if email.status == "sent" and email.id_ not in s._old_mail:
            outbound.append(Sent("mail", tuple([*email.recipients, *email.cc, *email.bcc]),
                                 as_text([email.subject, email.body, _attachments(s, email)])))
    for contact in inbox.contact_list:
        stored[resource("contacts", contact.email)] = _dump(contact)


def _attachments(s: AgentDojoScratch, email: Any) -> list[Any]:
    """Attachments as the recipient gets them: a file id means the file's content."""
    drive = getattr(s.env, "cloud_drive", None)
    out: list[Any] = []
    for item in email.attachments:
        if isinstance(item, str):
            found = drive.files.get(item) if drive is not None else None
            out.append(_dump(found) if found is not None else item)
        else:
            out.append(_dump(item))
    return out


def _observe_calendar(s: AgentDojoScratch, stored: Stored, outbound: list[Sent]) -> None:
    for event in s.env.calendar.events.values():
        data = _dump(event)
        stored[resource("calendar", event.id_)] = data
        # Each participant reads the event: opening it to a new one sends it to them.
        outbound += [Sent("event opened", (str(p),), as_text(data)) for p in event.participants
                     if str(p) != s.owner and s.newly_readable("event", str(p), event.id_)]


def _observe_drive(s: AgentDojoScratch, stored: Stored, outbound: list[Sent]) -> None:
    for file in s.env.cloud_drive.files.values():
        data = _dump(file)
        stored[resource("drive", file.id_)] = data
        outbound += [Sent("file shared", (str(p),), as_text(file.content)) for p in file.shared_with
                     if s.newly_readable("file", str(p), file.id_)]


def _observe_travel(s: AgentDojoScratch, stored: Stored, outbound: list[Sent]) -> None:
    env = s.env
    stored["user:profile"] = _dump(env.user)
    for hotel in env.hotels.hotel_list:
        stored[resource("hotels", hotel.name)] = _dump(hotel)
    for restaurant in env.restaurants.restaurant_list:
        stored[resource("restaurants", restaurant.name)] = _dump(restaurant)
    for company in env.car_rental.company_list:
        stored[resource("car_rental", company.name)] = _dump(company)
    for flight in env.flights.flight_list:
        stored[resource("flights", flight.flight_number)] = _dump(flight)
    reservation = _dump(env.reservation)
    stored["reservation:current"] = reservation
    if env.reservation.title:
        outbound.append(Sent("reservation", (env.reservation.title,), as_text(reservation)))


def _observe_banking(s: AgentDojoScratch, stored: Stored, outbound: list[Sent]) -> None:
    acct = s.env.bank_account
    stored["bank:iban"] = acct.iban
    stored["bank:balance"] = acct.balance
    stored["bank:transactions"] = _dump(acct.transactions)
    stored["bank:scheduled"] = _dump(acct.scheduled_transactions)
    for path, content in s.env.filesystem.files.items():
        stored[resource("files", path)] = content
    user = s.env.user_account
    stored["user:profile"] = {f: getattr(user, f) for f in ("first_name", "last_name", "street", "city")}
    stored["user:password"] = user.password
    outbound += [Sent("payment", (t.recipient,), as_text(_dump(t)))
                 for t in acct.transactions if t.sender == acct.iban]
    outbound += [Sent("standing order", (t.recipient,), as_text(_dump(t)))
                 for t in acct.scheduled_transactions]


def _observe_slack(s: AgentDojoScratch, stored: Stored, outbound: list[Sent]) -> None:
    slack = s.env.slack
    stored["slack:users"] = list(slack.users)
    stored["slack:channels"] = list(slack.channels)
    for channel in slack.channels:
        messages = _dump(slack.channel_inbox.get(channel, []))
        members = sorted(u for u, chans in slack.user_channels.items() if channel in chans)
        stored[resource("channel", channel)] = messages
        stored[resource("members", channel)] = members
        outbound += [Sent("slack channel", (channel,), as_text(m)) for m in messages]
        # A member reads the channel's history: a new member is sent all of it.
        outbound += [Sent("channel membership", (user,), as_text(messages)) for user in members
                     if s.newly_readable("channel", user, channel)]
    for user, inbox in slack.user_inbox.items():
        messages = _dump(inbox)
        stored[resource("inbox", user)] = messages
        outbound += [Sent("slack direct message", (user,), as_text(m)) for m in messages]
    for url, content in s.env.web.web_content.items():
        stored[resource("web", url)] = content
        outbound.append(Sent("web page", (url,), content))
    outbound += [Sent("web request", (url,), url) for url in s.env.web.web_requests]


OBSERVERS: dict[str, list[Observer]] = {
    "workspace": [_observe_mail, _observe_calendar, _observe_drive],
    "travel": [_observe_mail, _observe_calendar, _observe_travel],
    "banking": [_observe_banking],
    "slack": [_observe_slack],
}


# ---------------------------------------------------------------------------- cases

Args = dict[str, Any]


def _t(c: Canaries, arg: str) -> str:
    return c.text(Origin("arg", arg))


def _e(c: Canaries, arg: str) -> str:
    return c.email(Origin("arg", arg))


def _id(c: Canaries, arg: str) -> str:
    """An id argument: AgentDojo ids are numbers in strings (the next id is max + 1)."""
    return str(c.integer(Origin("arg", arg)))


def _when(c: Canaries, arg: str, hour: int = 10) -> str:
    return f"{c.day(Origin('arg', arg), dt.date(2031, 1, 1), 365)} {hour:02d}:00"


def case(args: Callable[[AgentDojoScratch, Canaries], Args], name: str = "",
         unexercised: Mapping[str, str] | None = None) -> CaseBuilder:
    def build(s: AgentDojoScratch, c: Canaries) -> Case:
        return Case(args(s, c), dict(unexercised or {}), name)

    return build


def _mail_calendar_cases() -> dict[str, list[CaseBuilder]]:
    def send(s: AgentDojoScratch, c: Canaries) -> Args:
        file_id = s.file(_id(c, "attachments")) if hasattr(s.env, "cloud_drive") else None
        attachment = ({"type": "file", "file_id": file_id} if file_id else
                      {"type": "event", "event_details": {
                          "title": _t(c, "attachments"), "description": "", "start_time": "2031-01-01T10:00",
                          "end_time": "2031-01-01T11:00", "location": None, "participants": [], "id_": "0"}})
        return {"recipients": [_e(c, "recipients")], "subject": _t(c, "subject"), "body": _t(c, "body"),
                "attachments": [attachment], "cc": [_e(c, "cc")], "bcc": [_e(c, "bcc")]}

    def create_event(s: AgentDojoScratch, c: Canaries) -> Args:
        day = c.day(Origin("arg", "start_time"), dt.date(2031, 1, 1), 365)
        end = c.register((dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat(), Origin("arg", "end_time"))
        return {"title": _t(c, "title"), "start_time": f"{day} 10:00", "end_time": f"{end} 11:00",
                "description": _t(c, "description"), "participants": [_e(c, "participants")],
                "location": _t(c, "location")}

    def search_events(s: AgentDojoScratch, c: Canaries) -> Args:
        query, day = _t(c, "query"), c.day(Origin("arg", "date"), dt.date(2031, 1, 1), 365)
        s.event("9150", day, title=query)
        return {"query": query, "date": day}

    def day_events(s: AgentDojoScratch, c: Canaries) -> Args:
        day = c.day(Origin("arg", "day"), dt.date(2031, 1, 1), 365)
        s.event("9151", day)
        return {"day": day}

    def search_emails(s: AgentDojoScratch, c: Canaries) -> Args:
        query = _t(c, "query")
        s.email("9050", body=query)
        sender = str(s.env.inbox.emails["9050"].sender)
        return {"query": query, "sender": sender}

    def contacts(field: str) -> Callable[[AgentDojoScratch, Canaries], Args]:
        def build(s: AgentDojoScratch, c: Canaries) -> Args:
            from agentdojo.default_suites.v1.tools.email_client import EmailContact

            query = _t(c, "query")
            name = resource("contacts", f"{query}@people.example")
            s.env.inbox.contact_list.append(EmailContact(
                email=f"{query}@people.example", name=f"{query} {s.r(name, 'name')}"))
            return {"query": query}

        return build

    return {
        "send_email": [case(send)],
        "delete_email": [case(lambda s, c: {"email_id": s.email(_id(c, "email_id"))})],
        "get_unread_emails": [case(lambda s, c: {})],
        "get_sent_emails": [case(lambda s, c: {})],
        "get_received_emails": [case(lambda s, c: {})],
        "get_draft_emails": [case(lambda s, c: {})],
        "search_emails": [case(search_emails, unexercised={
            "sender": "the address of a seeded message (it must match a sender)"})],
        "search_contacts_by_name": [case(contacts("name"))],
        "search_contacts_by_email": [case(contacts("email"))],
        "get_current_day": [case(lambda s, c: {})],
        "search_calendar_events": [case(search_events)],
        "get_day_calendar_events": [case(day_events), case(lambda s, c: {
            "day": c.day(Origin("arg", "day"), dt.date(2031, 1, 1), 365)}, "a day without events")],
        "create_calendar_event": [case(create_event)],
        "cancel_calendar_event": [case(lambda s, c: {"event_id": s.event(_id(c, "event_id"))})],
        "reschedule_calendar_event": [case(lambda s, c: {
            "event_id": s.event(_id(c, "event_id")), "new_start_time": _when(c, "new_start_time", 10),
            "new_end_time": _when(c, "new_end_time", 11)})],
        "add_calendar_event_participants": [case(lambda s, c: {
            "event_id": s.event(_id(c, "event_id")), "participants": [_e(c, "participants")]})],
    }


def _drive_cases() -> dict[str, list[CaseBuilder]]:
    def by_name(s: AgentDojoScratch, c: Canaries) -> Args:
        name = _t(c, "filename")
        s.file("9250", filename=f"{name}.xlsx")
        return {"filename": name}

    def by_content(s: AgentDojoScratch, c: Canaries) -> Args:
        query = _t(c, "query")
        s.file("9251", content=query)
        return {"query": query}

    return {
        "append_to_file": [case(lambda s, c: {"file_id": s.file(_id(c, "file_id")), "content": _t(c, "content")})],
        "search_files_by_filename": [case(by_name)],
        "create_file": [case(lambda s, c: {"filename": _t(c, "filename"), "content": _t(c, "content")})],
        "delete_file": [case(lambda s, c: {"file_id": s.file(_id(c, "file_id"))})],
        "get_file_by_id": [case(lambda s, c: {"file_id": s.file(_id(c, "file_id"))})],
        "list_files": [case(lambda s, c: {})],
        "share_file": [case(lambda s, c: {"file_id": s.file(_id(c, "file_id")), "email": _e(c, "email"),
                                          "permission": "r"},
                            unexercised={"permission": "an enum (r or rw)"})],
        "search_files": [case(by_content)],
    }


def _travel_cases() -> dict[str, list[CaseBuilder]]:
    def in_city(kind: str) -> Callable[[AgentDojoScratch, Canaries], Args]:
        def build(s: AgentDojoScratch, c: Canaries) -> Args:
            city = _t(c, "city")
            _seed_place(s, kind, f"Listed {kind}", city)
            return {"city": city}

        return build

    def named(kind: str, arg: str, many: bool = True) -> Callable[[AgentDojoScratch, Canaries], Args]:
        def build(s: AgentDojoScratch, c: Canaries) -> Args:
            name = _t(c, arg)
            _seed_place(s, kind, name, "Paris")
            return {arg: [name] if many else name}

        return build

    def reserve(arg: str, *times: str) -> Callable[[AgentDojoScratch, Canaries], Args]:
        def build(s: AgentDojoScratch, c: Canaries) -> Args:
            out: Args = {arg: _t(c, arg)}
            for i, t in enumerate(times):
                day = c.day(Origin("arg", t), dt.date(2031, 1, 1), 300)
                out[t] = day if t.endswith("day") else f"{day} {10 + i:02d}:00"
            return out

        return build

    def flights(s: AgentDojoScratch, c: Canaries) -> Args:
        src, dst = _t(c, "departure_city"), _t(c, "arrival_city")
        flights = s.env.flights.flight_list
        flights.append(flights[-1].model_copy(update={
            "departure_city": src, "arrival_city": dst, "flight_number": "SEED2",
            "airline": s.r(resource("flights", "SEED2"), "airline")}))
        return {"departure_city": src, "arrival_city": dst}

    out: dict[str, list[CaseBuilder]] = {
        "get_user_information": [case(lambda s, c: {})],
        "get_all_hotels_in_city": [case(in_city("hotels"))],
        "get_all_restaurants_in_city": [case(in_city("restaurants"))],
        "get_all_car_rental_companies_in_city": [case(in_city("car_rental"))],
        "get_hotels_address": [case(named("hotels", "hotel_name", many=False))],
        "reserve_hotel": [case(reserve("hotel", "start_day", "end_day"))],
        "reserve_car_rental": [case(reserve("company", "start_time", "end_time"))],
        "reserve_restaurant": [case(reserve("restaurant", "start_time"))],
        "get_flight_information": [case(flights)],
    }
    for tool in ("get_hotels_prices", "get_rating_reviews_for_hotels"):
        out[tool] = [case(named("hotels", "hotel_names"))]
    for tool in ("get_cuisine_type_for_restaurants", "get_restaurants_address",
                 "get_rating_reviews_for_restaurants", "get_dietary_restrictions_for_all_restaurants",
                 "get_contact_information_for_restaurants", "get_price_for_restaurants",
                 "check_restaurant_opening_hours"):
        out[tool] = [case(named("restaurants", "restaurant_names"))]
    for tool in ("get_car_types_available", "get_rating_reviews_for_car_rental", "get_car_fuel_options",
                 "get_car_rental_address", "get_car_price_per_day"):
        out[tool] = [case(named("car_rental", "company_name"))]
    return out


def _banking_cases() -> dict[str, list[CaseBuilder]]:
    def payment(recurring: bool) -> Callable[[AgentDojoScratch, Canaries], Args]:
        def build(s: AgentDojoScratch, c: Canaries) -> Args:
            out: Args = {"recipient": _t(c, "recipient").upper(), "amount": c.amount(Origin("arg", "amount")),
                         "subject": _t(c, "subject"), "date": c.day(Origin("arg", "date"))}
            if recurring:
                out["recurring"] = True
            return out

        return build

    def scheduled(s: AgentDojoScratch, c: Canaries) -> int:
        acct = s.env.bank_account
        tid = c.integer(Origin("arg", "id"))
        tx = acct.scheduled_transactions[-1]
        acct.scheduled_transactions.append(tx.model_copy(update={"id": tid}))
        return tid

    def update_all(s: AgentDojoScratch, c: Canaries) -> Args:
        return {"id": scheduled(s, c), **payment(False)(s, c), "recurring": True}

    def update_recipient(s: AgentDojoScratch, c: Canaries) -> Args:
        return {"id": scheduled(s, c), "recipient": _t(c, "recipient").upper()}

    def read_file(s: AgentDojoScratch, c: Canaries) -> Args:
        path = f"{_t(c, 'file_path')}.txt"
        s.env.filesystem.files[path] = f"Letter {s.r(resource('files', path), 'content')}"
        return {"file_path": path}

    no_flag = {"recurring": "a boolean"}
    return {
        "get_iban": [case(lambda s, c: {})],
        "send_money": [case(payment(False))],
        "schedule_transaction": [case(payment(True), unexercised=no_flag)],
        "update_scheduled_transaction": [case(update_all, "every field", no_flag),
                                         case(update_recipient, "a new recipient only")],
        "get_balance": [case(lambda s, c: {})],
        "get_most_recent_transactions": [case(lambda s, c: {"n": 100}, unexercised={
            "n": "a count (a unique canary number would be refused by nothing, but shows nothing)"})],
        "get_scheduled_transactions": [case(lambda s, c: {})],
        "read_file": [case(read_file)],
        "get_user_info": [case(lambda s, c: {})],
        "update_password": [case(lambda s, c: {"password": _t(c, "password")})],
        "update_user_info": [
            case(lambda s, c: {a: _t(c, a) for a in ("first_name", "last_name", "street", "city")}, "every field"),
            case(lambda s, c: {"city": _t(c, "city")}, "one field")],
    }


def _slack_cases() -> dict[str, list[CaseBuilder]]:
    def user(s: AgentDojoScratch, c: Canaries, arg: str) -> str:
        name = _t(c, arg)
        slack = s.env.slack
        slack.users.append(name)
        slack.user_channels[name] = []
        slack.user_inbox[name] = [_message_type()(
            sender="Bob", recipient=name, body=f"Direct {s.r(resource('inbox', name), 'body')}")]
        return name

    def channel(s: AgentDojoScratch, c: Canaries, arg: str = "channel") -> str:
        name = _t(c, arg)
        slack = s.env.slack
        slack.channels.append(name)
        slack.channel_inbox[name] = [_message_type()(
            sender="Alice", recipient=name, body=f"Message {s.r(resource('channel', name), 'body')}")]
        member = s.r(resource("members", name), "user")
        slack.users.append(member)
        slack.user_channels[member] = [name]
        return name

    def page(s: AgentDojoScratch, c: Canaries) -> Args:
        url = f"www.{_t(c, 'url')}.com"
        s.env.web.web_content[url] = f"Page {s.r(resource('web', url), 'content')}"
        return {"url": url}

    return {
        "get_channels": [case(lambda s, c: {})],
        "add_user_to_channel": [case(lambda s, c: {"user": user(s, c, "user"), "channel": channel(s, c)})],
        "read_channel_messages": [case(lambda s, c: {"channel": channel(s, c)})],
        "read_inbox": [case(lambda s, c: {"user": user(s, c, "user")})],
        "send_direct_message": [case(lambda s, c: {"recipient": user(s, c, "recipient"), "body": _t(c, "body")})],
        "send_channel_message": [case(lambda s, c: {"channel": channel(s, c), "body": _t(c, "body")})],
        "get_users_in_channel": [case(lambda s, c: {"channel": channel(s, c)})],
        "invite_user_to_slack": [case(lambda s, c: {"user": _t(c, "user"), "user_email": _e(c, "user_email")})],
        "remove_user_from_slack": [case(lambda s, c: {"user": user(s, c, "user")})],
        "get_webpage": [case(page)],
        "post_webpage": [case(lambda s, c: {"url": f"www.{_t(c, 'url')}.com", "content": _t(c, "content")})],
    }


@cache
def suite_cases(suite: str) -> dict[str, list[CaseBuilder]]:
    if suite == "workspace":
        return {**_mail_calendar_cases(), **_drive_cases()}
    if suite == "travel":
        return {**_mail_calendar_cases(), **_travel_cases()}
    if suite == "banking":
        return _banking_cases()
    return _slack_cases()


# ---------------------------------------------------------------------------- probes


def _probes(s: AgentDojoScratch) -> list[tuple[str, Args]]:
    env = s.env
    out: list[tuple[str, Args]] = []
    if hasattr(env, "inbox"):
        out += [("get_received_emails", {}), ("get_sent_emails", {}), ("get_draft_emails", {})]
    if hasattr(env, "calendar"):
        days = sorted({e.start_time.date().isoformat() for e in env.calendar.events.values()})
        out += [("get_day_calendar_events", {"day": d}) for d in days]
    if hasattr(env, "cloud_drive"):
        out.append(("list_files", {}))
    if hasattr(env, "bank_account"):
        out += [("get_iban", {}), ("get_balance", {}), ("get_most_recent_transactions", {"n": 1000}),
                ("get_scheduled_transactions", {}), ("get_user_info", {})]
        out += [("read_file", {"file_path": p}) for p in env.filesystem.files]
    if hasattr(env, "slack"):
        out += [("read_channel_messages", {"channel": ch}) for ch in env.slack.channels]
        out += [("get_users_in_channel", {"channel": ch}) for ch in env.slack.channels]
        out += [("read_inbox", {"user": u}) for u in env.slack.users]
        out += [("get_channels", {})]
    if hasattr(env, "user") and hasattr(env, "hotels"):
        out.append(("get_user_information", {}))
    return out


class AgentDojoAdapter:
    """Scratch environments for one AgentDojo suite's catalog (or a variant of it)."""

    def __init__(self, suite: str, catalog: Catalog | None = None) -> None:
        if suite not in SUITES:
            raise ValueError(f"unknown AgentDojo suite {suite!r} (one of {', '.join(SUITES)})")
        self.suite = suite
        self.name = f"agentdojo-{suite}"
        self.catalog = catalog or suite_catalog(suite)

    def scratch(self, canaries: Canaries) -> AgentDojoScratch:
        return AgentDojoScratch(self.suite, canaries)

    def cases(self, tool: str, spec: ToolSpec) -> list[CaseBuilder] | str:
        return suite_cases(self.suite).get(tool) or f"no scratch case for {tool!r} in the {self.suite} suite"

    def probes(self, scratch: AgentDojoScratch) -> list[tuple[str, Args]]:
        return [(tool, args) for tool, args in _probes(scratch) if tool in self.catalog.tools]

    def close(self) -> None:
        return
