"""Canaries: unique, typed, and found again only where they really are."""

from __future__ import annotations

from plangate.verify.canary import Canaries, Origin

A, B = Origin("arg", "a"), Origin("resource", "mail:1", "body")


def test_text_canaries_are_unique_and_found_in_any_case_and_inside_data() -> None:
    c = Canaries(1)
    x, y = c.text(A), c.text(B)
    assert x != y and x.startswith("cnry") and len(x) == 14
    assert c.find({"deep": [f"..{x.upper()}.."]}) == {A}
    assert c.find(f"{x} and {y}") == {A, B}
    assert c.find("cnryaaaaaaaaaa") == set()  # a canary-shaped word nobody minted


def test_numbers_are_found_as_whole_numbers_only() -> None:
    c = Canaries(2)
    n, amount = c.integer(A), c.amount(B)
    assert 1_000_000 <= n < 10_000_000 and str(amount).count(".") == 1
    assert c.find(f"id {n}.") == {A}
    assert c.find(f"id 9{n}") == set() and c.find(f"id {n}1") == set()
    assert c.find({"amount": amount}) == {B}
    assert c.find(f"{amount}7") == set() and c.find(f"1{amount}") == set()


def test_addresses_days_and_registered_values() -> None:
    c = Canaries(3)
    address = c.email(A)
    assert address.endswith("@canary.example") and c.find([address]) == {A}
    day = c.day(B)
    assert c.find(f"{day}T10:00:00") == {B}
    c.register("evt-777", Origin("resource", "calendar:evt-777", "id"))
    assert c.find("event evt-777") == {Origin("resource", "calendar:evt-777", "id")}


def test_the_same_seed_mints_the_same_canaries() -> None:
    assert Canaries("s").text(A) == Canaries("s").text(A)
    assert Canaries("s").text(A) != Canaries("t").text(A)
