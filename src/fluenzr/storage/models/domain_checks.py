"""Deliverability checks per sending domain (docs/deliverability.md).

One row per domain, shared by every account and workspace that sends from it: a domain is
checked once and shown once. ``result`` is the DomainReport JSON (findings, records, score: no
secrets); ``fingerprint`` is what a re-check compares to decide whether something changed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fluenzr.storage.base import Base


class DomainCheck(Base):
    __tablename__ = "domain_checks"
    __table_args__ = (Index("ix_domain_checks_checked_at", "checked_at"),)

    domain: Mapped[str] = mapped_column(String(253), primary_key=True)
    checked_at: Mapped[datetime]
    score: Mapped[int] = mapped_column(Integer)
    result: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(Text)
