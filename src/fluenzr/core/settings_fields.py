"""Typed settings without pydantic: each field a declared type, default, bounds and description.

``fluenzr.config.Settings`` is read by every command, and pydantic-settings costs about as much
to import and build (~0.15 s on a quiet machine, twice that under load) as SQLAlchemy itself: a
script calling ``fluenzr`` in a loop paid it on each call. The settings are flat scalars, so a
small table does the same job: :func:`setting` declares a field the way ``pydantic.Field``
did, :class:`SettingsModel` parses the values (lax, as pydantic's defaults: ``"5"`` is an int,
``"yes"`` a bool, a ``str`` a ``Path``), checks the bounds and runs the field validators.

A bad value raises :class:`SettingError` (a ``ValueError``) naming the field, in pydantic's
words ("Input should be greater than 0").
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

if TYPE_CHECKING:
    from pydantic import SecretStr

_MISSING: Any = object()
_OWN_WORDS = ("Input ", "String ")  # the parser's own problems; a validator's get "Value error, "
_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


class SettingError(ValueError):
    """A setting's value is refused: ``field`` names it, ``problem`` says why."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class FieldSpec:
    """One setting, as declared with :func:`setting` (the type comes from the annotation)."""

    default: Any = _MISSING
    default_factory: Callable[[], Any] | None = None
    description: str = ""
    gt: float | None = None
    ge: float | None = None
    le: float | None = None
    pattern: str | None = None


def setting(
    default: Any = _MISSING,
    *,
    default_factory: Callable[[], Any] | None = None,
    description: str = "",
    gt: float | None = None,
    ge: float | None = None,
    le: float | None = None,
    pattern: str | None = None,
) -> Any:
    """Declare a field of a :class:`SettingsModel` (typed ``Any`` so it fits any annotation)."""
    return FieldSpec(default, default_factory, description, gt, ge, le, pattern)


def _as_str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("Input should be a valid string")
    return value


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    if isinstance(value, float):
        raise ValueError("Input should be a valid integer, got a number with a fractional part")
    if isinstance(value, str):
        raise ValueError("Input should be a valid integer, unable to parse string as an integer")
    raise ValueError("Input should be a valid integer")


def _as_float(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    if isinstance(value, str):
        raise ValueError("Input should be a valid number, unable to parse string as a number")
    raise ValueError("Input should be a valid number")


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
    if isinstance(value, str):
        raise ValueError("Input should be a valid boolean, unable to interpret input")
    raise ValueError("Input should be a valid boolean")


def _as_path(value: Any) -> Path:
    if isinstance(value, Path):
        return value
    return Path(_as_str(value))


def _as_secret(value: Any) -> SecretStr:
    # Lazy: pydantic (~0.1 s of start-up) only when a secret is actually configured.
    from pydantic import SecretStr

    return value if isinstance(value, SecretStr) else SecretStr(_as_str(value))


_PARSERS: dict[str, Callable[[Any], Any]] = {
    "str": _as_str,
    "int": _as_int,
    "float": _as_float,
    "bool": _as_bool,
    "Path": _as_path,
    "SecretStr": _as_secret,
}
_LITERAL = re.compile(r"^Literal\[(.+)\]$")


def _parser(annotation: str) -> tuple[Callable[[Any], Any], bool]:
    """The parser for an annotation written as text, and whether it admits None."""
    optional = annotation.endswith(" | None")
    base = annotation.removesuffix(" | None")
    literal = _LITERAL.match(base)
    if literal:
        choices = tuple(part.strip().strip("'\"") for part in literal.group(1).split(","))
        wanted = " or ".join(f"'{c}'" for c in choices)

        def choice(value: Any) -> str:
            if value not in choices:
                raise ValueError(f"Input should be {wanted}")
            return str(value)

        return choice, optional
    if base not in _PARSERS:
        raise TypeError(f"unsupported setting type {annotation!r}")
    return _PARSERS[base], optional


def _number(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else str(bound)


def _check_bounds(spec: FieldSpec, value: Any) -> None:
    if spec.gt is not None and not value > spec.gt:
        raise ValueError(f"Input should be greater than {_number(spec.gt)}")
    if spec.ge is not None and not value >= spec.ge:
        raise ValueError(f"Input should be greater than or equal to {_number(spec.ge)}")
    if spec.le is not None and not value <= spec.le:
        raise ValueError(f"Input should be less than or equal to {_number(spec.le)}")
    if spec.pattern is not None and not re.search(spec.pattern, value):
        raise ValueError(f"String should match pattern '{spec.pattern}'")


@dataclass(frozen=True)
class _Field:
    name: str
    spec: FieldSpec
    parse: Callable[[Any], Any]
    optional: bool


class SettingsModel:
    """Base of a settings class: fields from the annotations and :func:`setting` defaults.

    Class hooks: ``before`` / ``after`` map a field name to a function run on the raw value
    before parsing / on the parsed value (pydantic's ``mode="before"`` and default validators).
    Instances are frozen; :meth:`model_copy` makes a changed copy, as pydantic's does.
    """

    fields: ClassVar[dict[str, _Field]] = {}
    before: ClassVar[Mapping[str, Callable[[Any], Any]]] = {}
    after: ClassVar[Mapping[str, Callable[[Any], Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        found: dict[str, _Field] = {}
        # inspect.get_annotations: this class's own, as text (``from __future__ import
        # annotations``): no evaluation, so no import of the annotated types.
        for name, annotation in inspect.get_annotations(cls).items():
            spec = cls.__dict__.get(name)
            if not isinstance(spec, FieldSpec):
                continue  # ClassVar and other plain annotations
            parse, optional = _parser(str(annotation))
            found[name] = _Field(name, spec, parse, optional)
            delattr(cls, name)  # instances carry the value; the class keeps no default
        cls.fields = found

    def __init__(self, **values: Any) -> None:
        for item in self.fields.values():
            raw = values.get(item.name, _MISSING)
            object.__setattr__(self, item.name, self._value(item, raw))
        extra = [name for name in values if name not in self.fields]
        if extra:
            raise SettingError(extra[0], "Extra inputs are not permitted")

    def _value(self, item: _Field, raw: Any) -> Any:
        if raw is _MISSING:
            spec = item.spec
            return spec.default_factory() if spec.default_factory else spec.default
        try:
            hook = self.before.get(item.name)
            raw = hook(raw) if hook else raw
            if raw is None and item.optional:
                return None
            value = item.parse(raw)
            _check_bounds(item.spec, value)
            hook = self.after.get(item.name)
            return hook(value) if hook else value
        except SettingError:
            raise
        except ValueError as exc:
            problem = str(exc)
            problem = problem if problem.startswith(_OWN_WORDS) else f"Value error, {problem}"
            raise SettingError(item.name, problem) from None  # the value may be a secret

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: {name} cannot be set")

    def model_copy(self, *, update: Mapping[str, Any] | None = None) -> Self:
        """A copy with some fields replaced (not validated, as pydantic's ``model_copy``)."""
        copy = object.__new__(type(self))
        for name in self.fields:
            object.__setattr__(copy, name, getattr(self, name))
        for name, value in (update or {}).items():
            object.__setattr__(copy, name, value)
        return copy

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.fields)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.fields)
        return f"{type(self).__name__}({shown})"
