"""The message builder: standards-correct bytes that parse back, fast paths equal to the stdlib."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, message_from_string, policy

import pytest

from fluenzr.errors import ValidationError
from fluenzr.mail import mime
from fluenzr.mail.mime import Address, Draft


def _draft(**changes: object) -> Draft:
    base: dict[str, object] = {
        "sender": Address("ana@example.com", "Ana Pérez"),
        "to": [Address("bob@example.org", "Bob")],
        "subject": "Hola",
        "text": "Hola Bob,\n¿hablamos?\n",
    }
    base.update(changes)
    return Draft(**base)  # type: ignore[arg-type]


def _parse(built: mime.Built) -> object:
    raw = mime.with_date(built.mime, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    return message_from_bytes(raw, policy=policy.default)


def test_round_trip_utf8_names_subject_and_body() -> None:
    subject = ("Reunión mañana ✓ " * 4).strip()
    built = mime.build(_draft(subject=subject))
    msg = _parse(built)
    assert msg["From"].addresses[0].display_name == "Ana Pérez"
    assert msg["Subject"] == subject
    assert msg["Message-ID"] == f"<{built.message_id}>"
    assert built.message_id.endswith("@example.com")
    assert msg["Date"].datetime == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert msg.get_content().replace("\r\n", "\n") == "Hola Bob,\n¿hablamos?\n"
    assert built.mime.isascii()  # RFC 2047 + quoted-printable: safe for any server
    for line in built.mime.split(b"\r\n"):
        assert len(line) <= 998


def test_html_alternative() -> None:
    msg = _parse(mime.build(_draft(html="<p>Hola <b>Bob</b></p>")))
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert "<b>Bob</b>" in parts[1].get_content()


def test_threading_headers() -> None:
    built = mime.build(_draft(in_reply_to="<parent@x.org>", references=["<root@x.org>"]))
    msg = _parse(built)
    assert msg["In-Reply-To"] == "<parent@x.org>"
    assert msg["References"].split() == ["<root@x.org>", "<parent@x.org>"]


def test_list_unsubscribe_one_click() -> None:
    long_url = "https://example.com/u/" + "a" * 90
    msg = _parse(mime.build(_draft(unsubscribe=["mailto:u@example.com", long_url], one_click=True)))
    assert long_url in msg["List-Unsubscribe"].replace(" ", "")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_one_click_needs_https() -> None:
    with pytest.raises(ValidationError) as info:
        mime.build(_draft(unsubscribe=["mailto:u@example.com"], one_click=True))
    assert info.value.code == "one_click_needs_https"


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        ("Subject", {"subject": "Hi\r\nBcc: victim@example.org"}),
        ("Subject", {"subject": "Hi\nthere"}),
        ("To", {"to": [Address("bob@example.org", "Bob\r\nBcc: x@y.z")]}),
        ("X-Campaign", {"headers": [("X-Campaign", "a\rb")]}),
        ("List-Unsubscribe", {"unsubscribe": ["https://x.org/\r\nBcc: a@b.c"]}),
    ],
)
def test_header_injection_refused(field: str, changes: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as info:
        mime.build(_draft(**changes))
    assert info.value.code == "header_injection"
    assert info.value.params["field"] == field


@pytest.mark.parametrize("name", ["Bcc", "content-type", "Date", "From"])
def test_reserved_headers_refused(name: str) -> None:
    with pytest.raises(ValidationError) as info:
        mime.build(_draft(headers=[(name, "x")]))
    assert info.value.code == "header_reserved"


def test_bad_header_name_refused() -> None:
    with pytest.raises(ValidationError) as info:
        mime.build(_draft(headers=[("X Bad:", "x")]))
    assert info.value.code == "header_name_invalid"


@pytest.mark.parametrize(
    "value",
    ["Hello", "", "Quarterly numbers, Q3 (final) & next steps!", "a" * 60, "x=y; z"],
)
def test_unstructured_fast_path_equals_stdlib(value: str) -> None:
    assert mime.fold_unstructured("Subject", value) == mime._fold_registry("Subject", value, False)


@pytest.mark.parametrize(
    "addresses",
    [
        [Address("bob@example.org")],
        [Address("bob@example.org", "Bob Smith")],
        [Address(f"user{i}@example.org", f"User {i}") for i in range(8)],
    ],
)
def test_address_fast_path_parses_like_stdlib(addresses: list[Address]) -> None:
    line = mime.fold_addresses("To", addresses)
    parsed = message_from_bytes(line.encode() + b"\r\n", policy=policy.default)
    got = [(a.display_name, a.addr_spec) for a in parsed["To"].addresses]
    assert got == [(a.name, a.email) for a in addresses]
    assert all(len(x) <= 78 for x in line.split("\r\n"))


def test_non_ascii_local_part_uses_smtputf8() -> None:
    built = mime.build(_draft(to=[Address("josé@example.org", "José")]))
    assert built.smtputf8
    msg = message_from_string(built.mime.decode("utf-8"), policy=policy.SMTPUTF8)
    assert msg["To"].addresses[0].addr_spec == "josé@example.org"


def test_message_ids_are_unique() -> None:
    ids = {mime.new_message_id("example.com") for _ in range(1000)}
    assert len(ids) == 1000


def test_invalid_in_reply_to() -> None:
    with pytest.raises(ValidationError) as info:
        mime.build(_draft(in_reply_to="not an id"))
    assert info.value.code == "message_id_invalid"
    assert info.value.params["field"] == "in_reply_to"
