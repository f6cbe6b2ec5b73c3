"""DKIM from the test mail: its ``DKIM-Signature``, the key in DNS, the signature verified.

The key record is fetched through :class:`~fluenzr.diagnose.resolve.DnsLookup` (the configured
resolver) and handed to dkimpy, which verifies in a worker thread with no network of its own.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import dkim as dkimpy

from fluenzr.diagnose.domain_checks.dkim_signature import (
    DkimKey,
    DkimSignature,
    TagListError,
    parse_key,
    parse_signature,
)
from fluenzr.diagnose.domain_checks.findings import Finding, Severity
from fluenzr.diagnose.domain_checks.headers import MAX_MESSAGE_BYTES
from fluenzr.diagnose.domain_checks.orgdomain import aligned
from fluenzr.diagnose.resolve import DnsLookup
from fluenzr.errors import MailError

MAX_SIGNATURES = 5
MIN_KEY_BITS = 1024  # RFC 8301 §3.2: verifiers MUST NOT accept less
GOOD_KEY_BITS = 2048
VERIFY_SECONDS = 10.0
_quiet = logging.getLogger("fluenzr.dkim")


@dataclass(frozen=True)
class DkimOutcome:
    finding: Finding
    signature: DkimSignature | None = None
    verified: bool = False  # a valid signature whose d= aligns with From

    @property
    def aligned_pass(self) -> bool:
        return self.verified


def _pick(values: list[str], from_domain: str) -> tuple[int, DkimSignature] | None:
    parsed: list[tuple[int, DkimSignature]] = []
    for index, value in enumerate(values[:MAX_SIGNATURES]):
        try:
            parsed.append((index, parse_signature(value)))
        except TagListError:
            continue
    for index, signature in parsed:
        if aligned(signature.domain, from_domain):
            return index, signature
    return parsed[0] if parsed else None


def _verify(raw: bytes, index: int, key_record: str) -> tuple[bool, str]:
    def dnsfunc(name: bytes, timeout: float = 5) -> bytes:
        return key_record.encode()

    try:
        signer = dkimpy.DKIM(raw[:MAX_MESSAGE_BYTES], logger=_quiet, minkey=512)
        return bool(signer.verify(idx=index, dnsfunc=dnsfunc)), ""
    except dkimpy.DKIMException as exc:
        return False, str(exc)[:200]
    except (ValueError, IndexError, KeyError, TypeError) as exc:  # malformed input
        return False, type(exc).__name__


def _label(signature: DkimSignature, key: DkimKey | None) -> str:
    size = f", {key.kind}-{key.bits}" if key else ""
    return f"d={signature.domain} s={signature.selector}{size}"


async def check_dkim(
    lookup: DnsLookup,
    raw: bytes,
    *,
    signatures: list[str],
    from_domain: str,
    provider_key: str | None = None,
) -> DkimOutcome:
    """One finding: the most serious thing wrong with the mail's DKIM, else ``dkim_ok``."""
    if not signatures:
        variant = provider_key or "generic"
        return DkimOutcome(
            Finding.of("dkim", Severity.ERROR, "dkim_unsigned", variant=variant, domain=from_domain)
        )
    picked = _pick(signatures, from_domain)
    if picked is None:
        record = signatures[0][:200]
        return DkimOutcome(Finding.of("dkim", Severity.ERROR, "dkim_signature_invalid", record))
    index, signature = picked
    try:
        records = [r for r in await lookup.txt(signature.key_name) if r.strip()]
    except MailError as error:
        return DkimOutcome(
            Finding.of("dkim", Severity.ERROR, "dns_failed", error.detail or ""), signature
        )
    if len(records) != 1:
        finding = Finding.of("dkim", Severity.ERROR, "dkim_key_missing", name=signature.key_name)
        return DkimOutcome(finding, signature)
    try:
        key = parse_key(records[0])
    except TagListError as error:
        code = "dkim_key_missing" if "revoked" in str(error) else "dkim_key_invalid"
        finding = Finding.of(
            "dkim", Severity.ERROR, code, records[0], name=signature.key_name, problem=error
        )
        return DkimOutcome(finding, signature)
    label = _label(signature, key)
    try:
        async with asyncio.timeout(VERIFY_SECONDS):
            ok, why = await asyncio.to_thread(_verify, raw, index, records[0])
    except TimeoutError:
        ok, why = False, "timeout"
    if not ok:
        finding = Finding.of(
            "dkim", Severity.ERROR, "dkim_signature_invalid", label, problem=why or "bad signature"
        )
        return DkimOutcome(finding, signature)
    if key.kind == "rsa" and key.bits < MIN_KEY_BITS:
        finding = Finding.of("dkim", Severity.ERROR, "dkim_key_too_small", label, bits=key.bits)
        return DkimOutcome(finding, signature)
    if not aligned(signature.domain, from_domain):
        finding = Finding.of(
            "dkim", Severity.ERROR, "dkim_misaligned", label, d=signature.domain, domain=from_domain
        )
        return DkimOutcome(finding, signature)
    if key.kind == "rsa" and key.bits < GOOD_KEY_BITS:
        finding = Finding.of("dkim", Severity.WARNING, "dkim_key_weak", label, bits=key.bits)
        return DkimOutcome(finding, signature, verified=True)
    return DkimOutcome(Finding.of("dkim", Severity.OK, "dkim_ok", label), signature, verified=True)
