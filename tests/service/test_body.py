"""One reader of request bodies (`plangate.service.asgi.read_json`): a fixed bound on nesting,
and every refusal a `json.JSONDecodeError` (FastAPI's malformed JSON, counted)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("fastapi", reason="the service extra is not installed")

from plangate.service.asgi import MAX_DEPTH, read_json


def nested(depth: int, inner: str = "1") -> bytes:
    return ("[" * depth + inner + "]" * depth).encode()


def test_nesting_up_to_the_bound_is_read_and_one_more_level_is_refused() -> None:
    assert read_json(nested(MAX_DEPTH)) is not None
    with pytest.raises(json.JSONDecodeError, match=f"deeper than {MAX_DEPTH}"):
        read_json(nested(MAX_DEPTH + 1))
    mixed = ('{"a": ' * (MAX_DEPTH // 2) + "[" * (MAX_DEPTH // 2 + 1) + "]" * (MAX_DEPTH // 2 + 1)
             + "}" * (MAX_DEPTH // 2)).encode()
    with pytest.raises(json.JSONDecodeError):
        read_json(mixed)


@pytest.mark.parametrize("text", ['"[[[["', '"\\"[[[[[["', '"\\\\"', '"{\\u005b"'])
def test_brackets_inside_strings_are_not_nesting(text: str) -> None:
    """Many brackets in strings (escaped quotes too) beside shallow nesting: read."""
    body = ("[" + ",".join([text] * (MAX_DEPTH * 2)) + "]").encode()
    assert read_json(body) == json.loads(body)


def test_an_escaped_quote_does_not_hide_real_nesting() -> None:
    """A string whose escaped quote might look like its end to a careless scan, then real
    brackets past the bound: refused."""
    body = b'["a\\"b", ' + nested(MAX_DEPTH + 1) + b"]"
    with pytest.raises(json.JSONDecodeError):
        read_json(body)


@pytest.mark.parametrize("body", [b'{"a": "\xc3\x28"}', b'{"a": ' + b"9" * 5000 + b"}", b"[" * 5000 + b"]" * 5000,
                                  b'{"a": 1} x', b"", b"\xff\xfe"])
def test_every_refusal_is_malformed_json(body: bytes) -> None:
    with pytest.raises(json.JSONDecodeError):
        read_json(body)


def test_unbalanced_brackets_are_left_to_the_parser_to_name() -> None:
    with pytest.raises(json.JSONDecodeError):
        read_json(b"[" * (MAX_DEPTH * 2) + b"]")


def test_alternating_objects_and_arrays_count_every_level() -> None:
    """A plan's JSON alternates objects and arrays: each is a level (a scan that took away
    `[]` and then `{}` in one round counted two levels as one)."""
    half = MAX_DEPTH // 2
    ok = ('[{"a": ' * half + "1" + "}]" * half).encode()
    assert read_json(ok) == json.loads(ok)
    deep = ('[{"a": ' * half + "[1]" + "}]" * half).encode()
    with pytest.raises(json.JSONDecodeError, match="deeper"):
        read_json(deep)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_a_body_in_another_encoding_than_utf8_is_malformed(encoding: str) -> None:
    """JSON between systems is UTF-8 (RFC 8259), and the nesting is counted on UTF-8 bytes:
    `json.loads` would read these, their nesting unbounded."""
    with pytest.raises(json.JSONDecodeError, match="UTF-8"):
        read_json('{"a": ["\\"["]}'.encode(encoding))
    assert read_json(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}  # a UTF-8 byte order mark, as before
