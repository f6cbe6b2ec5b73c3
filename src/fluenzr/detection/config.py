"""Tunables of reply detection, clamped to sane values (read from Settings when it has them)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import timedelta
from typing import Any


@dataclass(frozen=True)
class DetectionConfig:
    poll_interval: float = 60.0  # seconds between checks when the server has no IDLE
    idle_refresh: float = 25 * 60.0  # re-issue IDLE before RFC 2177's 29-minute limit
    connect_timeout: float = 20.0
    backoff_min: float = 1.0  # reconnect backoff, doubling up to backoff_max
    backoff_max: float = 300.0
    initial_sync_concurrency: int = 20  # mailboxes doing their first/catch-up sync at once
    # Fleets (docs/detection-scaleout.md): a mailbox lease lives this long without renewal
    # (renewed every third of it); a killed worker's mailboxes are taken over after it.
    lease_ttl: float = 60.0
    connect_per_host: int = 10  # IMAP connections being set up at once to one server host
    connect_stagger: float = 0.05  # seconds between two connection starts to one host
    fetch_batch: int = 500  # UIDs per FETCH command
    body_limit: int = 262_144  # bytes of a relevant message fetched (BODY.PEEK[]<0.N>)
    # Hostile mail (docs/security.md): beyond these a message is an ``unparseable`` event.
    max_message_bytes: int = 20_000_000  # RFC822.SIZE above this: never fetched
    max_header_bytes: int = 131_072  # the header block (triage fetches at most this much)
    max_headers: int = 1000  # header fields in the header block
    max_header_length: int = 65_536  # one unfolded header field
    max_mime_parts: int = 500  # Content-Type headers in the fetched text
    max_mime_depth: int = 50  # multipart/message containers (an upper bound of the nesting)
    classify_timeout: float = 20.0  # seconds one message may take to classify, off the loop
    classify_workers: int = 2  # threads classifying at once (shared by every mailbox)
    match_window_days: int = 30
    bounce_rate_threshold: float = 0.05
    bounce_rate_window: int = 100  # last N sent messages of the account
    bounce_rate_min_sends: int = 20  # no pause decision on fewer sends than this
    # Gmail and Yahoo's sender guidelines: keep the spam-complaint rate under 0.1%.
    complaint_rate_threshold: float = 0.001
    complaint_rate_window: int = 1000  # last N sent messages of the account
    away_defers_followups: bool = False  # hold stop_on_reply mail until after the return date
    webhook_poll: float = 1.0
    webhook_timeout: float = 10.0
    webhook_max_attempts: int = 8
    webhook_body_limit: int = 65_536  # bytes of a receiver's answer read at most

    @property
    def match_window(self) -> timedelta:
        return timedelta(days=self.match_window_days)

    def clamped(self) -> DetectionConfig:
        return replace(
            self,
            poll_interval=min(max(self.poll_interval, 0.05), 3600.0),
            idle_refresh=min(max(self.idle_refresh, 1.0), 29 * 60.0),
            initial_sync_concurrency=min(max(self.initial_sync_concurrency, 1), 500),
            lease_ttl=min(max(self.lease_ttl, 0.5), 3600.0),
            connect_per_host=min(max(self.connect_per_host, 1), 1000),
            connect_stagger=min(max(self.connect_stagger, 0.0), 10.0),
            fetch_batch=min(max(self.fetch_batch, 10), 5000),
            body_limit=min(max(self.body_limit, 4096), 10_000_000),
            max_message_bytes=min(max(self.max_message_bytes, 4096), 1_000_000_000),
            max_header_bytes=min(max(self.max_header_bytes, 1024), 10_000_000),
            max_headers=min(max(self.max_headers, 10), 100_000),
            max_header_length=min(max(self.max_header_length, 998), 10_000_000),
            max_mime_parts=min(max(self.max_mime_parts, 1), 10_000),
            # The stdlib parser recurses per level: far below the interpreter's 1,000 frames.
            max_mime_depth=min(max(self.max_mime_depth, 1), 200),
            classify_timeout=min(max(self.classify_timeout, 0.01), 600.0),
            classify_workers=min(max(self.classify_workers, 1), 64),
            bounce_rate_threshold=min(max(self.bounce_rate_threshold, 0.0), 1.0),
            bounce_rate_window=min(max(self.bounce_rate_window, 1), 10_000),
            bounce_rate_min_sends=max(self.bounce_rate_min_sends, 1),
            complaint_rate_threshold=min(max(self.complaint_rate_threshold, 0.0), 1.0),
            complaint_rate_window=min(max(self.complaint_rate_window, 1), 100_000),
            webhook_max_attempts=min(max(self.webhook_max_attempts, 1), 50),
            webhook_timeout=min(max(self.webhook_timeout, 0.05), 300.0),
            webhook_body_limit=min(max(self.webhook_body_limit, 1024), 1_048_576),
        )


def from_settings(settings: Any, **overrides: Any) -> DetectionConfig:
    """Settings fields named ``detect_<field>`` override the defaults, then ``overrides``."""
    values: dict[str, Any] = {}
    for item in fields(DetectionConfig):
        value = getattr(settings, f"detect_{item.name}", None)
        if value is not None:
            values[item.name] = value
    values.update({k: v for k, v in overrides.items() if v is not None})
    return DetectionConfig(**values).clamped()
