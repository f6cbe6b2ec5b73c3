"""Issue 15's detection rules, one behaviour per test: forgiving message ids, Exchange
Thread-Index, flufl.bounce as a bounded second opinion, ARF complaints, reply intent — and
hypothesis keeps every new parser crash-free on arbitrary input."""

from __future__ import annotations

import base64
import typing

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fluenzr.api.routes.events import Intent
from fluenzr.detection import complaints, intents
from fluenzr.detection.bounce_library import MAX_LINE, bounded_copy
from fluenzr.detection.message import message_ids, parse
from fluenzr.detection.message_kinds import classify_bytes, thread_index_root
from fluenzr.detection.quotes import html_to_reply_text


@pytest.mark.parametrize(
    ("value", "ids"),
    [
        ("<a@b.example>", ["a@b.example"]),
        ("a@b.example", ["a@b.example"]),  # no brackets
        ("<a@b.example> (a comment <x@y.example>) <c@d.example>", ["a@b.example", "c@d.example"]),
        ("(nested (comment) here) <a@b.example>", ["a@b.example"]),
        ("<a@b.\t example>", ["a@b.example"]),  # folded inside the brackets
        ("a@b.example, c@d.example", ["a@b.example", "c@d.example"]),
        ("<>", []),
        ("no ids here", []),
    ],
)
def test_message_ids_forgive_real_clients(value: str, ids: list[str]) -> None:
    assert message_ids(value) == ids


def test_several_in_reply_to_headers_all_count() -> None:
    raw = (
        b"From: p@c.example\r\nSubject: Re: x\r\nIn-Reply-To: one@fluenzr.test\r\n"
        b"In-Reply-To: <two@fluenzr.test>\r\nReferences: <zero@fluenzr.test>\r\n\r\nok\r\n"
    )
    result = classify_bytes(raw)
    assert result.in_reply_to == ("one@fluenzr.test", "two@fluenzr.test")
    assert result.references[-1] == "zero@fluenzr.test"


def test_thread_index_root_is_the_first_22_bytes() -> None:
    root = bytes(range(22))
    reply = base64.b64encode(root + b"\x01\x02\x03\x04\x05").decode()
    assert thread_index_root(reply) == base64.b64encode(root).decode()
    assert thread_index_root(base64.b64encode(root).decode()) == base64.b64encode(root).decode()
    assert thread_index_root("not base64 at all, no way!!") is None
    assert thread_index_root(base64.b64encode(root + b"\x01").decode()) is None  # not 22 + 5n


def test_flufl_bounce_finds_what_our_rules_do_not() -> None:
    """IMail/SMTP32 with a neutral subject and wording only flufl.bounce's detector knows."""
    raw = (
        b"From: postmaster@imail.remote.example\r\nReturn-Path: <>\r\nTo: ana@fluenzr.test\r\n"
        b"Subject: Notice\r\nX-Mailer: <SMTP32 v8.15>\r\n\r\n"
        b"unknown user: ghost@remote.example\r\n\r\nana@fluenzr.test wrote this.\r\n"
    )
    result = classify_bytes(raw, own_addresses=frozenset({"ana@fluenzr.test"}))
    assert (result.kind, result.rule) == ("bounce", "flufl")
    assert result.failed_recipients == ("ghost@remote.example",)


def test_flufl_never_decides_for_a_person() -> None:
    raw = (
        b"From: Bob <bob@c.example>\r\nTo: ana@fluenzr.test\r\nSubject: Re: x\r\n"
        b"In-Reply-To: <o@fluenzr.test>\r\n\r\nunknown user: carol@c.example, ok?\r\n"
    )
    assert classify_bytes(raw).kind == "reply"


def test_flufl_reads_a_bounded_copy() -> None:
    raw = b"Subject: x\r\n\r\n" + b"a" * 10_000 + b"\r\n"
    copy = bounded_copy(raw)
    assert max(len(line) for line in copy.get_payload().splitlines()) <= MAX_LINE


def test_complaint_with_a_redacted_recipient_keeps_the_original_id() -> None:
    raw = (
        b"From: fbl@isp.example\r\nSubject: complaint\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=feedback-report; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nabuse report\r\n"
        b"--b\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n"
        b"Original-Rcpt-To: xxxxxxxx@isp.example\r\n"
        b"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nTo: xxxxxxxx@isp.example\r\n"
        b"Message-ID: <o.1@fluenzr.test>\r\n--b--\r\n"
    )
    found = complaints.detect(parse(raw))
    assert found is not None
    assert (found.complainant, found.original_message_id) == (None, "o.1@fluenzr.test")


def test_api_intent_names_are_the_detector_s() -> None:
    assert set(typing.get_args(Intent)) == set(intents.INTENTS)


@pytest.mark.parametrize(
    ("text", "intent", "referred"),
    [
        ("No problem, let's talk on Tuesday.", "meeting", None),
        (
            "Ya no trabajo aquí. Escribe a ana.b@cliente.example",
            "left_company",
            "ana.b@cliente.example",
        ),
        ("Please talk to bob@cliente.example about this.", "referral", "bob@cliente.example"),
        ("No, gracias.", "not_interested", None),
        ("Merci pour votre message.", "unknown", None),
        ("Thanks!", "unknown", None),
        ("Is this GDPR compliant?", "question", None),
        ("I'll be out until Monday.", "unknown", None),  # not a meeting: no proposal
    ],
)
def test_intent_rules(text: str, intent: str, referred: str | None) -> None:
    found = intents.detect(text, sender="prospect@cliente.example")
    assert (found.intent, found.referred) == (intent, referred)
    assert (found.phrase is None) == (intent == "unknown")


def test_intent_never_refers_to_us_or_the_sender() -> None:
    found = intents.detect(
        "I left the company, write to ana@fluenzr.test or me@c.example",
        own_addresses=frozenset({"ana@fluenzr.test"}),
        sender="me@c.example",
    )
    assert (found.intent, found.referred) == ("left_company", None)


_text = st.text(
    alphabet=st.sampled_from(list("<>()@\\\"'., \t\r\n:;-?abcXYZ0123456789¿éñ<>!")), max_size=400
)


@settings(max_examples=300, deadline=None)
@given(value=_text)
def test_message_ids_never_raise_and_return_bare_ids(value: str) -> None:
    for found in message_ids(value):
        assert "@" in found and not any(c in found for c in "<>() ")


@settings(max_examples=300, deadline=None)
@given(text=_text)
def test_intents_never_raise(text: str) -> None:
    found = intents.detect(text)
    assert found.intent in intents.INTENTS


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(html=st.text(alphabet=st.sampled_from(list("<>/=\"' abdiv-!bhr\nquote")), max_size=600))
def test_html_reply_text_never_raises(html: str) -> None:
    assert isinstance(html_to_reply_text(html), str)


_report_part = st.sampled_from(
    [
        "Content-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n",
        "Content-Type: message/feedback-report\r\n\r\n",
        "Content-Type: text/rfc822-headers\r\n\r\nMessage-ID: <x@y>\r\nTo: a@b\r\n",
        "Content-Type: message/rfc822\r\n\r\nTo: (\r\n",
        "Content-Type: text/plain\r\n\r\n\x00\xff",
    ]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=st.lists(_report_part, max_size=4), garbage=st.binary(max_size=200))
def test_arf_and_flufl_paths_never_raise(parts: list[str], garbage: bytes) -> None:
    body = "".join(f"--b\r\n{p}\r\n" for p in parts) + "--b--\r\n"
    for head in (
        'Content-Type: multipart/report; report-type=feedback-report; boundary="b"\r\n',
        "From: MAILER-DAEMON@x.example\r\nReturn-Path: <>\r\nX-Mailer: <SMTP32 v1>\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n',
    ):
        raw = (head + "\r\n" + body).encode("utf-8", "surrogateescape") + garbage
        assert classify_bytes(raw).kind in {"complaint", "bounce", "auto_reply", "reply", "other"}
