"""An uploaded accounts CSV (or pasted ``email,password`` lines) → rows of named cells, in memory.

Pure and bounded: the bytes are capped (:data:`MAX_BYTES`) before anything is decoded, rows are
capped (:data:`MAX_ROWS`), every cell is capped by its field's length, and the work is one pass
of the standard ``csv`` reader (linear time). Nothing here validates an account: the rows go to
:mod:`fluenzr.services.account_import`, which checks each one with the account form's rules.

Headers are matched through :data:`ALIASES` (the columns Instantly, Smartlead, lemlist and
mailbox sellers export), then an explicit ``mapping`` (source header → our column, ``""`` to
ignore it) overrides what was detected. A cell starting with ``= + - @`` is never evaluated
here; :func:`escape_formula` neutralises one on the way out (a results CSV opened in a
spreadsheet).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ValidationError
from fluenzr.services.account_fields import field as account_field

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
# csv's own per-field cap is global state; ours is per cell (below). The file cap bounds both.
csv.field_size_limit(MAX_BYTES + 1)

# Our column → the AccountInput field it fills (None: handled by the importer itself).
COLUMNS: dict[str, str | None] = {
    "from_email": "email",
    "from_name": "display_name",
    "smtp_host": "smtp_host",
    "smtp_port": "smtp_port",
    "smtp_username": "username",
    "smtp_password": "password",
    "smtp_security": "smtp_security",
    "imap_host": "imap_host",
    "imap_port": "imap_port",
    "imap_username": "imap_username",
    "imap_password": "imap_password",
    "imap_security": "imap_security",
    "daily_limit": "daily_limit",
    "hourly_limit": "hourly_limit",
    "min_interval": "min_interval",
    "max_interval": "max_interval",
    "timezone": "timezone",
    "preset": "preset",
    "warmup_start": None,
    "warmup_increment": None,
    "tags": None,
    "first_name": None,  # joined with last_name into from_name
    "last_name": None,
}
SECRET_COLUMNS = frozenset({"smtp_password", "imap_password"})
MAX_TAGS_CELL = 1024
MAX_NAME_PART = 100

_EXTRA_ALIASES: dict[str, tuple[str, ...]] = {
    "from_email": ("email", "emailaddress", "fromemail", "senderemail", "sender", "mailbox"),
    "from_name": ("name", "fromname", "sendername", "displayname", "fullname"),
    "first_name": ("firstname", "first", "givenname"),
    "last_name": ("lastname", "last", "surname", "familyname"),
    "smtp_host": ("smtp", "smtpserver", "smtphostname", "outgoingserver", "smtpaddress"),
    "smtp_port": ("outgoingport",),
    "smtp_username": ("smtpuser", "smtplogin", "username", "user", "login", "smtpusername"),
    "smtp_password": ("password", "pass", "smtppass", "apppassword", "smtppwd", "pwd"),
    "smtp_security": ("smtpencryption", "smtpssl", "smtptls", "security", "encryption"),
    "imap_host": ("imap", "imapserver", "imaphostname", "incomingserver"),
    "imap_port": ("incomingport",),
    "imap_username": ("imapuser", "imaplogin", "imapusername"),
    "imap_password": ("imappass", "imappwd"),
    "imap_security": ("imapencryption", "imapssl", "imaptls"),
    "daily_limit": (
        "dailysendinglimit",
        "maxemailperday",
        "maxemailsperday",
        "emailsperday",
        "messageperday",
        "messagesperday",
        "sendinglimit",
        "dailycap",
    ),
    "hourly_limit": ("perhour", "maxemailsperhour", "hourlycap"),
    "min_interval": ("mintimegap", "minwaittime", "minwait", "mindelay"),
    "max_interval": ("maxtimegap", "maxwaittime", "maxwait", "maxdelay"),
    "timezone": ("tz", "timezonename"),
    "warmup_start": ("warmupstartlimit", "warmupdailystart"),
    "warmup_increment": ("dailyrampup", "rampup", "warmuprampup", "warmupincrease"),
    "tags": ("tag", "labels", "label", "groups", "group"),
    # Not "provider": exports put "Google"/"Microsoft" there, which are no preset keys.
}


def normalise_header(text: str) -> str:
    """``"SMTP Host"``, ``"smtp_host"``, ``"Smtp-Host "`` → ``"smtphost"``."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _aliases() -> dict[str, str]:
    table = {normalise_header(name): name for name in COLUMNS}
    for column, names in _EXTRA_ALIASES.items():
        for name in names:
            table.setdefault(name, column)
    return table


ALIASES: dict[str, str] = _aliases()


def cell_limit(column: str) -> int:
    """The longest text a cell of ``column`` may hold: its account field's, else ours."""
    target = COLUMNS.get(column)
    if target is not None:
        return account_field(target).max_length
    if column == "tags":
        return MAX_TAGS_CELL
    if column in {"first_name", "last_name"}:
        return MAX_NAME_PART
    return 20  # the warm-up numbers


@dataclass(frozen=True)
class Row:
    """One record: the physical line it starts on and its cells by our column name.

    ``too_long`` names the columns whose cell was over :func:`cell_limit` (cut, reported)."""

    line: int
    cells: dict[str, str]
    too_long: tuple[str, ...] = ()
    malformed: bool = False  # a pasted line that is not ``email,password``


@dataclass(frozen=True)
class ParsedFile:
    headers: list[str]  # as in the file
    mapping: dict[str, str]  # source header → our column (only the mapped ones)
    ignored: list[str]  # headers mapped to nothing
    rows: list[Row]
    encoding: str
    delimiter: str
    notes: list[str] = field(default_factory=list)


def _problem(code: ErrorCode, **params: object) -> ValidationError:
    return ValidationError(code, params={"field": "file", **params})


def decode(data: bytes) -> tuple[str, str]:
    """The text of an upload and the encoding it was read with (UTF-8 first, BOM honoured)."""
    if len(data) > MAX_BYTES:
        raise _problem(ErrorCode.IMPORT_FILE_TOO_LARGE, limit=MAX_BYTES // (1024 * 1024))
    if data.startswith(b"PK\x03\x04"):  # a zip: an .xlsx/.ods saved as-is, not a CSV
        raise _problem(ErrorCode.IMPORT_FILE_BINARY)
    for bom, name in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if data.startswith(bom):
            try:
                text = data[len(bom) :].decode(name)
            except UnicodeDecodeError:
                raise _problem(ErrorCode.IMPORT_ENCODING_INVALID) from None
            return _no_nul(text), "utf-16"
    if b"\x00" in data:
        raise _problem(ErrorCode.IMPORT_FILE_BINARY)
    try:
        return data.removeprefix(b"\xef\xbb\xbf").decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    # Excel on Windows saves "CSV" in the ANSI code page; five bytes are undefined in cp1252.
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        raise _problem(ErrorCode.IMPORT_ENCODING_INVALID) from None


def _no_nul(text: str) -> str:
    if "\x00" in text:
        raise _problem(ErrorCode.IMPORT_FILE_BINARY)
    return text


def sniff_delimiter(first_line: str) -> str:
    """``,`` unless the header line has more ``;`` (European Excel), tabs or ``|``."""
    counts = {sep: first_line.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] > counts[","] else ","


def detect_mapping(
    headers: list[str], override: Mapping[str, str] | None = None
) -> tuple[dict[str, str], list[str]]:
    """Source header → our column, by alias, then ``override`` (``""`` = ignore the header).

    The first header claiming a column wins; a later one naming the same column is ignored."""
    override = dict(override or {})
    for source, target in override.items():
        if source not in headers:
            raise _problem(ErrorCode.IMPORT_MAPPING_INVALID, column=source[:80])
        if target and target not in COLUMNS:
            raise _problem(ErrorCode.IMPORT_MAPPING_INVALID, column=target[:80])
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    forced = {target for target in override.values() if target}
    for header in headers:
        if header in override:
            target = override[header]
        else:
            target = ALIASES.get(normalise_header(header), "")
            if target in forced:
                target = ""
        if target and target not in taken:
            mapping[header] = target
            taken.add(target)
    ignored = [h for h in headers if h not in mapping]
    return mapping, ignored


def _records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Each non-blank record with the line it starts on (a quoted cell may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    start = 1
    for record in reader:
        if any(cell.strip() for cell in record):
            yield start, record
        start = reader.line_num + 1


def _row(line: int, record: list[str], columns: list[str | None]) -> Row:
    cells: dict[str, str] = {}
    too_long: list[str] = []
    for column, raw in zip(columns, record, strict=False):
        if column is None:
            continue
        value = raw if column in SECRET_COLUMNS else raw.strip()
        limit = cell_limit(column)
        if len(value) > limit:
            too_long.append(column)
            value = value[:limit]
        if value:
            cells[column] = value
    first, last = cells.pop("first_name", ""), cells.pop("last_name", "")
    if (first or last) and "from_name" not in cells:
        cells["from_name"] = f"{first} {last}".strip()
    return Row(line=line, cells=cells, too_long=tuple(too_long))


def headers_of(data: bytes) -> list[str]:
    """The header record of an upload (the mapping step lists them); [] for an empty file."""
    text, _ = decode(data)
    first = next(_records(text, sniff_delimiter(text.split("\n", 1)[0])), None)
    return [h.strip()[:200] for h in first[1]] if first else []


def parse_csv(data: bytes, *, mapping: Mapping[str, str] | None = None) -> ParsedFile:
    """Parse an upload; a file-level problem (size, encoding, no email column) raises."""
    text, encoding = decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = sniff_delimiter(first_line)
    records = _records(text, delimiter)
    header_record = next(records, None)
    if header_record is None:
        raise _problem(ErrorCode.IMPORT_EMPTY)
    headers = [h.strip()[:200] for h in header_record[1]]
    detected, ignored = detect_mapping(headers, mapping)
    if "from_email" not in detected.values():
        raise _problem(ErrorCode.IMPORT_EMAIL_COLUMN_MISSING, headers=", ".join(headers)[:300])
    columns = [detected.get(h) for h in headers]
    rows: list[Row] = []
    for line, record in records:
        if len(rows) >= MAX_ROWS:
            raise _problem(ErrorCode.IMPORT_TOO_MANY_ROWS, limit=MAX_ROWS)
        rows.append(_row(line, record, columns))
    if not rows:
        raise _problem(ErrorCode.IMPORT_EMPTY)
    return ParsedFile(
        headers=headers,
        mapping=detected,
        ignored=ignored,
        rows=rows,
        encoding=encoding,
        delimiter=delimiter,
    )


def parse_records(
    records: list[dict[str, str | int | None]], *, mapping: Mapping[str, str] | None = None
) -> ParsedFile:
    """JSON rows (the API): keys are headers like a CSV's, matched the same way; the n-th
    record is "line" n + 1, as if a header line came first."""
    if len(records) > MAX_ROWS:
        raise _problem(ErrorCode.IMPORT_TOO_MANY_ROWS, limit=MAX_ROWS)
    if not records:
        raise _problem(ErrorCode.IMPORT_EMPTY)
    headers: list[str] = []
    for record in records:
        headers.extend(key for key in record if key not in headers)
        if len(headers) > 200:
            raise _problem(ErrorCode.IMPORT_MAPPING_INVALID, column=str(headers[-1])[:80])
    detected, ignored = detect_mapping(headers, mapping)
    if "from_email" not in detected.values():
        raise _problem(ErrorCode.IMPORT_EMAIL_COLUMN_MISSING, headers=", ".join(headers)[:300])
    columns = [detected.get(h) for h in headers]
    rows = [
        _row(number, ["" if r.get(h) is None else str(r.get(h)) for h in headers], columns)
        for number, r in enumerate(records, start=2)
    ]
    return ParsedFile(
        headers=headers,
        mapping=detected,
        ignored=ignored,
        rows=rows,
        encoding="utf-8",
        delimiter=",",
    )


@dataclass(frozen=True)
class SharedServer:
    """Paste mode: what every pasted mailbox shares (a preset, or servers typed once)."""

    preset: str = ""
    smtp_host: str = ""
    smtp_port: str = ""
    smtp_security: str = ""
    imap_host: str = ""
    imap_port: str = ""
    imap_security: str = ""
    tags: str = ""

    def cells(self) -> dict[str, str]:
        return {name: value.strip() for name, value in vars(self).items() if value.strip()}


_PASTE_SEPARATOR = re.compile(r"[,;\t:| ]")


def parse_paste(text: str, *, shared: SharedServer) -> ParsedFile:
    """Lines of ``email,password`` (also ``;``, tab, ``:``, ``|`` or a space) + one server.

    The password is everything after the first separator, as typed (it may contain any of
    them); a line without a separator is reported on its own row (``malformed``)."""
    data = text.encode("utf-8", "replace")
    if len(data) > MAX_BYTES:
        raise _problem(ErrorCode.IMPORT_FILE_TOO_LARGE, limit=MAX_BYTES // (1024 * 1024))
    _no_nul(text)
    base = shared.cells()
    rows: list[Row] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line:
            continue
        if len(rows) >= MAX_ROWS:
            raise _problem(ErrorCode.IMPORT_TOO_MANY_ROWS, limit=MAX_ROWS)
        found = _PASTE_SEPARATOR.search(line)
        if found is None:
            cells = {**base, "from_email": line[:320]}
            rows.append(Row(line=number, cells=cells, malformed=True))
            continue
        email, password = line[: found.start()], line[found.end() :]
        rows.append(_row(number, [email, password], ["from_email", "smtp_password"]))
        rows[-1].cells.update({k: v for k, v in base.items() if k not in rows[-1].cells})
    if not rows:
        raise _problem(ErrorCode.IMPORT_EMPTY)
    return ParsedFile(
        headers=["email", "password"],
        mapping={"email": "from_email", "password": "smtp_password"},
        ignored=[],
        rows=rows,
        encoding="utf-8",
        delimiter=",",
    )


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def is_formula(value: str) -> bool:
    """A cell a spreadsheet would evaluate (CSV injection: ``=cmd|' /C calc'!A0``)."""
    return value.startswith(_FORMULA_START)


def escape_formula(value: str) -> str:
    """A cell made inert for a spreadsheet: a leading ``'`` (OWASP's advice)."""
    return f"'{value}" if is_formula(value) else value


def split_tags(cell: str) -> list[str]:
    """``"Agency; Q3 |eu"`` → ``["agency", "q3", "eu"]``: lower-cased, trimmed, de-duplicated."""
    out: list[str] = []
    for part in re.split(r"[;,|]", cell):
        tag = part.strip().lower()
        if tag and tag not in out:
            out.append(tag)
    return out
