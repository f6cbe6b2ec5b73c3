"""A secret value that never renders itself: not in repr, str, f-strings, logs or JSON."""

from __future__ import annotations

from typing import Any, NoReturn


class Secret:
    """Holds a credential in memory. Only :meth:`reveal` gives the value back.

    ``str()``/``repr()``/``format()`` show a fixed mask, pickling is refused, and equality is by
    value so tests can compare without revealing.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('********')"

    def __str__(self) -> str:
        return "********"

    def __format__(self, spec: str) -> str:
        return "********"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> NoReturn:
        raise TypeError("Secret values cannot be pickled")

    def __getstate__(self) -> Any:
        raise TypeError("Secret values cannot be serialised")
