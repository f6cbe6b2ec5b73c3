"""``Authentication-Results`` (RFC 8601): ``authserv-id; method=result (comment) prop=v; …``.

Split on ``;`` and spaces only (linear); comments are dropped. The field is capped first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fluenzr.diagnose.domain_checks.findings import Finding, Severity

MAX_FIELD_CHARS = 8192
MAX_RESULTS = 20
FAILING = frozenset({"fail", "softfail", "permerror", "temperror", "neutral", "policy"})


@dataclass(frozen=True)
class AuthResult:
    method: str
    result: str
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AuthenticationResults:
    authserv_id: str
    results: list[AuthResult]


def _drop_comments(text: str) -> str:
    out: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
        elif not depth:
            out.append(char)
    return "".join(out)


def parse_authentication_results(value: str) -> AuthenticationResults:
    parts = _drop_comments(value[:MAX_FIELD_CHARS]).split(";")
    authserv = parts[0].split()[0] if parts[0].split() else ""
    results: list[AuthResult] = []
    for part in parts[1 : MAX_RESULTS + 1]:
        words = part.split()
        if not words or words[0].lower() == "none":
            continue
        method, eq, result = words[0].partition("=")
        if not eq:
            continue
        props = {}
        for word in words[1:]:
            name, eq, prop = word.partition("=")
            if eq and name.lower() != "reason":
                props[name.lower()] = prop.strip('"')
        results.append(AuthResult(method.lower(), result.lower(), props))
    return AuthenticationResults(authserv, results)


def check_authentication_results(values: list[str]) -> Finding | None:
    """The receiving server's verdicts, shown; a failing one is a warning. None when absent."""
    if not values:
        return None
    parsed = parse_authentication_results(values[0])
    summary = ", ".join(f"{r.method}={r.result}" for r in parsed.results) or "none"
    record = f"{parsed.authserv_id}: {summary}"
    failing = [
        r for r in parsed.results if r.result in FAILING and r.method in ("spf", "dkim", "dmarc")
    ]
    if failing:
        return Finding.of(
            "auth_results",
            Severity.WARNING,
            "auth_results_fail",
            record,
            methods=", ".join(f"{r.method}={r.result}" for r in failing),
        )
    return Finding.of("auth_results", Severity.OK, "auth_results_ok", record)
