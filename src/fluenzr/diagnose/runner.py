"""Run an ordered list of small steps; stop at the first failure; report every step.

A step is an async function taking the shared run state and returning a :class:`Done`
(a detail line, maybe a warning). It fails by raising :class:`~fluenzr.errors.MailError`; the
runner times it, turns the outcome into a :class:`StepResult`, tells the progress callback, and
after a failure reports the remaining steps as skipped. Steps marked ``optional`` may be
skipped on purpose by raising :class:`Skip` (e.g. the test mail with ``--no-send``).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Generic, TypeVar

from fluenzr.errors import MailError
from fluenzr.i18n import translate

State = TypeVar("State")


class Status(StrEnum):
    OK = "ok"
    WARNING = "warning"  # passed, but something deserves attention (e.g. no Sent folder)
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Notice:
    """A step's verdict that is not a mail failure (a deliverability finding): shown like a
    warning, with its own code, text and fix; ``severity`` is ``warning`` or ``error``."""

    code: str
    category: str
    text: str
    fix: str | None = None
    detail: str | None = None
    severity: str = "warning"

    def message(self) -> str:
        return self.text

    def hint(self) -> str | None:
        return self.fix


@dataclass(frozen=True)
class Done:
    detail: str = ""
    warning: MailError | Notice | None = None
    severity: str | None = None  # "ok" for a deliverability step that passed


class Skip(Exception):
    """Raised by a step that does not apply to this run; the text says why."""


@dataclass(frozen=True)
class StepResult:
    name: str
    status: Status
    duration_ms: int
    detail: str = ""
    code: str | None = None
    category: str | None = None
    message: str | None = None
    hint: str | None = None
    severity: str | None = None  # deliverability steps: ok | warning | error

    @property
    def ok(self) -> bool:
        return self.status in (Status.OK, Status.WARNING)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "label": translate(f"step.{self.name}"),
            "ok": self.ok,
            "status": self.status.value,
            "duration_ms": self.duration_ms,
            "detail": self.detail,
        }
        if self.code:
            out.update(code=self.code, category=self.category, message=self.message)
            out["hint"] = self.hint
        if self.severity:
            out["severity"] = self.severity
        return out

    def model_dump(self, mode: str = "json") -> dict[str, Any]:
        """The JSON form, under the name API models use (the web UI streams it)."""
        return self.to_dict()


@dataclass(frozen=True)
class Step(Generic[State]):
    name: str
    run: Callable[[State], Awaitable[Done]]


ProgressCallback = Callable[[StepResult], Awaitable[None] | None]


@dataclass
class RunOutcome:
    steps: list[StepResult] = field(default_factory=list)
    error: MailError | None = None
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None


def step_from_error(
    name: str, error: MailError | Notice, elapsed: int, status: Status
) -> StepResult:
    return StepResult(
        name=name,
        status=status,
        duration_ms=elapsed,
        detail=error.detail or "",
        code=error.code,
        category=error.category,
        message=error.message(),
        hint=error.hint(),
        severity=error.severity if isinstance(error, Notice) else None,
    )


async def _notify(callback: ProgressCallback | None, result: StepResult) -> None:
    if callback is None:
        return
    maybe = callback(result)
    if inspect.isawaitable(maybe):
        await maybe


async def _run_one(step: Step[State], state: State) -> tuple[StepResult, MailError | None]:
    started = time.perf_counter()
    try:
        done = await step.run(state)
    except Skip as skipped:
        return StepResult(step.name, Status.SKIPPED, 0, str(skipped)), None
    except MailError as error:
        elapsed = int((time.perf_counter() - started) * 1000)
        return step_from_error(step.name, error, elapsed, Status.FAILED), error
    elapsed = int((time.perf_counter() - started) * 1000)
    if done.warning is not None:
        result = step_from_error(step.name, done.warning, elapsed, Status.WARNING)
        return replace(result, detail=done.detail or result.detail), None
    return StepResult(step.name, Status.OK, elapsed, done.detail, severity=done.severity), None


async def run_steps(
    steps: Sequence[Step[State]], state: State, *, on_step: ProgressCallback | None = None
) -> RunOutcome:
    """Run ``steps`` in order until one fails; the rest are reported as skipped."""
    started = time.perf_counter()
    outcome = RunOutcome()
    for step in steps:
        if outcome.error is not None:
            result = StepResult(step.name, Status.SKIPPED, 0, "")
        else:
            result, error = await _run_one(step, state)
            outcome.error = error
        outcome.steps.append(result)
        await _notify(on_step, result)
    outcome.duration_ms = int((time.perf_counter() - started) * 1000)
    return outcome
