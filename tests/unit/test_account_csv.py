"""Accounts CSV parsing and mapping: aliases, encodings and every hostile file we defend against."""

from __future__ import annotations

import time

import pytest

from fluenzr.core.secret import Secret
from fluenzr.errors import ValidationError
from fluenzr.http.uploads import UPLOAD_MAX_BYTES
from fluenzr.services import account_csv
from fluenzr.services.account_csv import (
    MAX_BYTES,
    MAX_ROWS,
    SharedServer,
    escape_formula,
    parse_csv,
    parse_paste,
    parse_records,
    split_tags,
)
from fluenzr.services.account_import import candidate, results_csv

HEADER = "from_email,from_name,smtp_host,smtp_port,smtp_password\n"


def _code(data: bytes, **kw: object) -> str:
    with pytest.raises(ValidationError) as info:
        parse_csv(data, **kw)  # type: ignore[arg-type]
    return str(info.value.code)


def test_our_columns_parse_as_named() -> None:
    parsed = parse_csv((HEADER + "ana@example.com,Ana,smtp.example.com,587,pw\n").encode())
    assert parsed.mapping == {c: c for c in HEADER.strip().split(",")}
    assert parsed.rows[0].line == 2
    assert parsed.rows[0].cells["smtp_password"] == "pw"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        # Instantly
        (
            "Email,First Name,Last Name,SMTP Username,SMTP Password,SMTP Host,SMTP Port,"
            "IMAP Username,IMAP Password,IMAP Host,IMAP Port,Daily Limit,Warmup Increment",
            [
                "from_email",
                "first_name",
                "last_name",
                "smtp_username",
                "smtp_password",
                "smtp_host",
                "smtp_port",
                "imap_username",
                "imap_password",
                "imap_host",
                "imap_port",
                "daily_limit",
                "warmup_increment",
            ],
        ),
        # Smartlead
        (
            "from_name,from_email,user_name,password,smtp_host,smtp_port,imap_host,imap_port,"
            "max_email_per_day,daily_rampup,imap_user_name,imap_password",
            [
                "from_name",
                "from_email",
                "smtp_username",
                "smtp_password",
                "smtp_host",
                "smtp_port",
                "imap_host",
                "imap_port",
                "daily_limit",
                "warmup_increment",
                "imap_username",
                "imap_password",
            ],
        ),
        # A mailbox seller's sheet
        ("Email Address;Password;SMTP Server;IMAP Server;Tags", None),
    ],
)
def test_header_aliases(headers: str, expected: list[str] | None) -> None:
    parsed = parse_csv((headers + "\n" + "x@example.com" + "\n").encode())
    if expected is None:
        assert parsed.delimiter == ";"
        expected = ["from_email", "smtp_password", "smtp_host", "imap_host", "tags"]
    assert list(parsed.mapping.values()) == expected


def test_first_and_last_name_make_the_display_name() -> None:
    parsed = parse_csv(b"Email,First Name,Last Name\nana@example.com, Ana , Garcia \n")
    assert parsed.rows[0].cells == {"from_email": "ana@example.com", "from_name": "Ana Garcia"}


def test_mapping_override_and_ignore() -> None:
    data = b"Login,Secret,Notes\nana@example.com,pw,hello\n"
    assert _code(data) == "import_email_column_missing"
    parsed = parse_csv(data, mapping={"Login": "from_email", "Secret": "smtp_password"})
    assert parsed.rows[0].cells == {"from_email": "ana@example.com", "smtp_password": "pw"}
    assert parsed.ignored == ["Notes"]
    ignored = parse_csv(b"Email,Password\na@example.com,pw\n", mapping={"Password": ""})
    assert "smtp_password" not in ignored.rows[0].cells
    assert _code(data, mapping={"Nope": "from_email"}) == "import_mapping_invalid"
    assert _code(data, mapping={"Login": "rm -rf"}) == "import_mapping_invalid"


def test_bom_cp1252_and_utf16() -> None:
    body = "Email,Name\nana@example.com,Añá\n"
    for data, encoding in (
        (b"\xef\xbb\xbf" + body.encode(), "utf-8"),
        (body.encode("cp1252"), "cp1252"),
        (b"\xff\xfe" + body.encode("utf-16-le"), "utf-16"),
    ):
        parsed = parse_csv(data)
        assert parsed.encoding == encoding
        assert parsed.mapping["Email"] == "from_email"  # the BOM is not part of the header
        assert parsed.rows[0].cells["from_name"] == "Añá"


def test_wrong_encoding_and_binary_files_are_refused() -> None:
    assert _code(b"Email\n\x81\x8d\x8f\x90\x9d\n") == "import_encoding_invalid"
    assert _code("Email\nana@example.com\n".encode("utf-16-le")) == "import_file_binary"  # NULs
    assert _code(b"Email\nana@exa\x00mple.com\n") == "import_file_binary"
    assert _code(b"PK\x03\x04" + b"\x00" * 40) == "import_file_binary"  # an .xlsx
    assert _code(b"") == "import_empty"
    assert _code(b"Email\n\n  \n") == "import_empty"


def test_oversize_file_refused_before_decoding() -> None:
    assert UPLOAD_MAX_BYTES > MAX_BYTES  # the HTTP cap lets a full file and its form through
    started = time.perf_counter()
    assert _code(b"Email\n" + b"a" * MAX_BYTES) == "import_file_too_large"
    assert time.perf_counter() - started < 1.0


def test_too_many_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    assert MAX_ROWS == 20_000
    monkeypatch.setattr(account_csv, "MAX_ROWS", 50)  # the same check, at a test's size
    data = ("Email\n" + "a@example.com\n" * 51).encode()
    assert _code(data) == "import_too_many_rows"
    assert len(parse_csv(("Email\n" + "a@example.com\n" * 50).encode()).rows) == 50
    with pytest.raises(ValidationError):
        parse_paste("a@example.com,p\n" * 51, shared=SharedServer())


def test_huge_field_is_cut_and_reported_in_linear_time() -> None:
    huge = "x" * (MAX_BYTES - 100)
    started = time.perf_counter()
    parsed = parse_csv(f'Email,Name\nana@example.com,"{huge}"\n'.encode())
    assert time.perf_counter() - started < 2.0
    row = parsed.rows[0]
    assert row.too_long == ("from_name",)
    assert len(row.cells["from_name"]) == 200
    found = candidate(row)
    assert found.data is None
    assert [e["code"] for e in found.errors] == ["import_cell_too_long"]


def test_unbalanced_quote_does_not_swallow_the_file_silently() -> None:
    parsed = parse_csv(b'Email,Name\n"ana@example.com,Ana\nbob@example.com,Bob\n')
    assert len(parsed.rows) == 1  # one quoted cell to the end: one row, reported as invalid
    assert candidate(parsed.rows[0]).data is not None
    assert "ana@example.com" in parsed.rows[0].cells["from_email"]


def test_quoted_multiline_cells_keep_line_numbers() -> None:
    parsed = parse_csv(b'Email,Name\na@example.com,"two\nlines"\n\nb@example.com,B\n')
    assert [row.line for row in parsed.rows] == [2, 5]


def test_formula_cells_are_text_flagged_and_escaped_on_export() -> None:
    payload = "=cmd|' /C calc'!A0"
    parsed = parse_csv(f"Email,Name,Password\nana@example.com,{payload},=pw+1\n".encode())
    found = candidate(parsed.rows[0])
    assert found.data is not None
    assert found.data.display_name == payload  # stored as typed, never evaluated
    assert found.warnings == ["formula:from_name"]  # a password may start with "=": no flag
    for cell in (payload, "+1", "-2", "@SUM(A1)", "\tx"):
        assert escape_formula(cell) == "'" + cell
    assert escape_formula("ana@example.com") == "ana@example.com"
    exported = results_csv(
        {"rows": [{"line": 2, "email": payload, "status": "invalid", "account_id": None,
                   "errors": [{"field": "email", "code": "email_invalid", "message": "=1+1"}]}]}
    )  # fmt: skip
    assert "'=cmd" in exported and "'=1+1" in exported
    assert "\n=" not in exported and ",=" not in exported


def test_tags_split_trim_lower() -> None:
    assert split_tags(" Agency; Q3 |eu,, agency ") == ["agency", "q3", "eu"]
    parsed = parse_csv(b"Email,Tags\na@example.com,=HYPERLINK(1)\n")
    assert [e["code"] for e in candidate(parsed.rows[0]).errors] == ["tag_invalid"]


def test_cells_convert_with_the_form_rules() -> None:
    data = b"Email,SMTP Port,Daily Limit,SMTP Security,Password\na@example.com,99999,0,SSL/TLS,p\n"
    found = candidate(parse_csv(data).rows[0], lang="en")
    assert [(e["field"], e["code"]) for e in found.errors] == [
        ("smtp_port", "port_invalid"),
        ("daily_limit", "limit_invalid"),
    ]
    assert found.errors[0]["message"] == "Port: '99999' is not a valid port"
    ok = candidate(parse_csv(b"Email,SMTP Security,Password\na@example.com,SSL/TLS,p\n").rows[0])
    assert ok.data is not None and ok.data.smtp_security == "ssl"
    assert ok.data.password == Secret("p")


def test_a_password_shown_in_an_error_is_masked() -> None:
    # A password column mapped onto the host by mistake: the message must not show it.
    data = b"Email,Password\na@example.com,Sup3r-Secret!\n"
    parsed = parse_csv(data, mapping={"Password": "smtp_host"})
    row = parsed.rows[0]
    row.cells["smtp_password"] = "Sup3r-Secret!"
    found = candidate(row)
    assert found.data is not None  # the host is only checked by the account rules
    from fluenzr.services.account_import import _error
    from fluenzr.services.account_rules import host

    with pytest.raises(ValidationError) as info:
        host("Sup3r-Secret!", field="smtp_host")
    shown = _error(info.value, secrets=found.secrets, lang="en")
    assert "Sup3r-Secret" not in str(shown)


def test_paste_mode() -> None:
    shared = SharedServer(preset="gmail", tags="paste")
    text = "ana@example.com,pa,ss:word\n\nbob@example.com\tpw2\nnot-a-line\n"
    parsed = parse_paste(text, shared=shared)
    assert [r.line for r in parsed.rows] == [1, 3, 4]
    assert parsed.rows[0].cells == {
        "from_email": "ana@example.com",
        "smtp_password": "pa,ss:word",
        "preset": "gmail",
        "tags": "paste",
    }
    assert parsed.rows[1].cells["smtp_password"] == "pw2"
    assert "smtp_password" not in parsed.rows[2].cells
    assert [e["code"] for e in candidate(parsed.rows[2]).errors] == ["import_paste_line_invalid"]
    with pytest.raises(ValidationError):
        parse_paste("a@example.com,p\x00w", shared=shared)


def test_json_records() -> None:
    parsed = parse_records([{"Email": "a@example.com", "SMTP Port": 465}, {"Email": None}])
    assert parsed.rows[0].cells == {"from_email": "a@example.com", "smtp_port": "465"}
    assert parsed.rows[1].line == 3
    with pytest.raises(ValidationError):
        parse_records([{"Notes": "x"}])


def test_aliases_never_map_two_columns_to_one_field() -> None:
    parsed = parse_csv(b"Email,Sender,Password,Pass\na@example.com,b@example.com,p1,p2\n")
    assert parsed.rows[0].cells["from_email"] == "a@example.com"
    assert parsed.rows[0].cells["smtp_password"] == "p1"
    assert parsed.ignored == ["Sender", "Pass"]
    assert set(account_csv.ALIASES.values()) <= set(account_csv.COLUMNS)
