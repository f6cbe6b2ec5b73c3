"""A bad FLUENZR_DATABASE_URL is reported without the password it carries."""

from __future__ import annotations

import pytest

from fluenzr.errors import ConfigError
from fluenzr.storage.engine import make_engine


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://fluenzr:Hunter2pw@db.example:Hunter2pw/fluenzr",  # the parser quotes the port
        "postgresql+nodriver://fluenzr:Hunter2pw@db.example/fluenzr",
    ],
)
def test_the_password_never_reaches_the_error(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make_engine(url)
    error = caught.value
    assert "Hunter2pw" not in str(error)
    assert "Hunter2pw" not in repr(error.params)
    assert error.__cause__ is None
