"""RFC 8058 §4: a one-click unsubscribe is only trusted when the DKIM signature covers both
``List-Unsubscribe`` and ``List-Unsubscribe-Post``."""

from __future__ import annotations

from fluenzr.diagnose.domain_checks.dkim_signature import DkimSignature
from fluenzr.diagnose.domain_checks.findings import Finding, Severity

NEEDED = ("list-unsubscribe", "list-unsubscribe-post")


def check_unsubscribe(
    fields: list[tuple[str, str]], signature: DkimSignature | None
) -> Finding | None:
    """None unless the mail carries ``List-Unsubscribe-Post``."""
    names = {name for name, _ in fields}
    if "list-unsubscribe-post" not in names:
        return None
    signed = set(signature.signed_headers) if signature else set()
    missing = [h for h in NEEDED if h not in signed]
    record = "h=" + ":".join(signature.signed_headers) if signature else ""
    if missing:
        return Finding.of(
            "unsubscribe",
            Severity.WARNING,
            "unsubscribe_not_signed",
            record,
            headers=", ".join(missing),
        )
    return Finding.of("unsubscribe", Severity.OK, "unsubscribe_signed", record)
