"""Rule tables of the classifier, one behaviour per test; and no input crashes it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fluenzr.detection.autoreplies import return_date
from fluenzr.detection.message_kinds import KINDS, classify_bytes
from fluenzr.detection.quotes import strip_quotes, wants_unsubscribe
from fluenzr.detection.subjects import has_reply_prefix, normalise_subject

SENT = datetime(2026, 12, 14, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("subject", "normalised"),
    [
        ("Re: Hello", "hello"),
        ("RE: AW: [EXT] Réf. Hello  World", "hello world"),
        ("Réf. : Offre", "offre"),
        ("AW: Anfrage", "anfrage"),
        ("SV: Hej", "hej"),
        ("Rif: Proposta", "proposta"),
        ("R: Proposta", "proposta"),
        ("Fwd: Re: Idea", "idea"),
        ("TR: Offre", "offre"),
        ("Re[2]: Idea", "idea"),
        ("Ideas for you", "ideas for you"),
    ],
)
def test_normalise_subject(subject: str, normalised: str) -> None:
    assert normalise_subject(subject) == normalised


def test_reply_prefix_is_not_a_forward() -> None:
    assert has_reply_prefix("Re: x")
    assert has_reply_prefix("AW: x")
    assert has_reply_prefix("Rif: x")
    assert not has_reply_prefix("Fwd: x")
    assert not has_reply_prefix("Recipe: x")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I am away until January 4th, 2027.", date(2027, 1, 4)),
        ("Back on Monday 11 January.", date(2027, 1, 11)),
        ("Estoy fuera hasta el 7 de enero de 2027.", date(2027, 1, 7)),
        ("Absent jusqu'au 4 janvier inclus.", date(2027, 1, 4)),
        ("Ich bin bis zum 11. Januar nicht im Büro.", date(2027, 1, 11)),
        ("Sono fuori ufficio fino al 6 gennaio.", date(2027, 1, 6)),
        ("Estou de férias até 5 de janeiro.", date(2027, 1, 5)),
        ("Afwezig tot en met 3 januari 2027.", date(2027, 1, 3)),
        ("Away until 2027-01-05.", date(2027, 1, 5)),
        ("Away until 12/25/2026.", date(2026, 12, 25)),
        ("Away until 05/01/2027.", date(2027, 1, 5)),
        ("Away until Dec 30.", date(2026, 12, 30)),
        ("I will reply soon.", None),
    ],
)
def test_return_date(text: str, expected: date | None) -> None:
    assert return_date(text, sent=SENT) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Please unsubscribe me",
        "remove me from your list",
        "Stop emailing me.",
        "Por favor, dadme de baja",
        "No me vuelvas a escribir",
        "Quitadme de la lista",
        "Merci de me désabonner",
        "Ne plus me contacter svp",
        "Retirez-moi de votre liste",
    ],
)
def test_unsubscribe_phrases(text: str) -> None:
    assert wants_unsubscribe(text)


@pytest.mark.parametrize("text", ["Sounds good, call me", "Me interesa", "Oui, volontiers"])
def test_not_unsubscribe(text: str) -> None:
    assert not wants_unsubscribe(text)


def test_strip_quotes_keeps_interleaved_answers() -> None:
    text = "> Do you have time?\nYes, Thursday.\n> Budget?\nAround 5k.\n-- \nSig"
    assert strip_quotes(text) == "Yes, Thursday.\nAround 5k."


def test_x_auto_response_suppress_alone_is_no_evidence() -> None:
    raw = (
        b"From: a@example.com\r\nTo: b@fluenzr.test\r\nSubject: Re: Idea\r\n"
        b"In-Reply-To: <x@fluenzr.test>\r\nX-Auto-Response-Suppress: All\r\n\r\nYes!\r\n"
    )
    assert classify_bytes(raw).kind == "reply"


def test_auto_submitted_no_is_a_person() -> None:
    raw = b"From: a@example.com\r\nSubject: Re: Idea\r\nAuto-Submitted: no\r\n\r\nOk\r\n"
    assert classify_bytes(raw).kind == "reply"


def test_bounce_beats_auto_submitted() -> None:
    raw = (
        b"From: MAILER-DAEMON@x.example\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        b"Auto-Submitted: auto-replied\r\n\r\n<gone@example.com>: 550 5.1.1 User unknown\r\n"
    )
    result = classify_bytes(raw)
    assert result.kind == "bounce"
    assert result.failed_recipients == ("gone@example.com",)
    assert result.permanent is True


def test_empty_message() -> None:
    assert classify_bytes(b"").kind == "other"


_header_names = st.sampled_from(
    [
        "From",
        "To",
        "Subject",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Auto-Submitted",
        "In-Reply-To",
        "References",
        "X-Failed-Recipients",
        "Precedence",
        "List-Id",
        "Message-ID",
        "Date",
        "Return-Path",
    ]
)
_values = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            "multipart/report; report-type=delivery-status; boundary=b",
            "multipart/mixed; boundary=b",
            "message/delivery-status",
            "text/plain; charset=x-unknown",
            "text/html; charset=utf-16",
            "base64",
            "quoted-printable",
            "=?utf-8?b?////?=",
            "=?x?q?=ZZ?=",
            "MAILER-DAEMON@x",
            "auto-replied",
            "<a@b>",
            "Mon, 99 Foo 99999 99:99:99 +9999",
        ]
    ),
)
_parts = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "text/plain",
                "text/html",
                "message/delivery-status",
                "message/rfc822",
                "text/rfc822-headers",
                "multipart/alternative; boundary=c",
            ]
        ),
        st.binary(max_size=200),
    ),
    max_size=4,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(headers=st.lists(st.tuples(_header_names, _values), max_size=12), parts=_parts)
def test_no_mime_structure_crashes(headers: list[tuple[str, str]], parts: list) -> None:
    head = "".join(f"{name}: {value}\r\n".replace("\n\n", "\n") for name, value in headers)
    body = b"".join(
        b"--b\r\nContent-Type: " + kind.encode() + b"\r\n\r\n" + payload + b"\r\n"
        for kind, payload in parts
    )
    raw = head.encode("utf-8", "surrogateescape") + b"\r\n" + body + b"--b--\r\n"
    assert classify_bytes(raw).kind in KINDS


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=2000))
def test_no_bytes_crash(raw: bytes) -> None:
    assert classify_bytes(raw).kind in KINDS


def test_fast_header_parser_agrees_with_the_stdlib_on_the_corpus() -> None:
    from pathlib import Path

    from fluenzr.detection.bounces import looks_like_bounce
    from fluenzr.detection.message import address, content_type, header, parse, parse_headers

    corpus = Path(__file__).resolve().parents[1] / "corpus"
    for path in sorted(corpus.rglob("*.eml")):
        raw = path.read_bytes()
        head = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0] + b"\n\n"
        slow, fast = parse(head), parse_headers(head)
        for name in ("Subject", "In-Reply-To", "References", "Auto-Submitted", "List-Id"):
            assert header(fast, name) == header(slow, name), (path.name, name)
        assert address(fast, "From") == address(slow, "From"), path.name
        assert content_type(fast) == content_type(slow), path.name
        assert looks_like_bounce(fast) == looks_like_bounce(slow), path.name


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=1000))
def test_fast_header_parser_never_crashes(raw: bytes) -> None:
    from fluenzr.detection.bounces import looks_like_bounce
    from fluenzr.detection.message import parse_headers

    assert looks_like_bounce(parse_headers(raw)) in (True, False)
