"""Print the docs/errors.md code table from the ErrorCode enum (tests check the doc lists all).

.venv/bin/python scripts/error_codes_table.py > /tmp/table.md
"""

from __future__ import annotations

from fluenzr.error_codes import ROWS
from fluenzr.i18n import translate


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def main() -> None:
    print("| code | category | scope | impact | permanent | retryable | message (en) |")
    print("|---|---|---|---|---|---|---|")
    for row in ROWS:
        heading = translate(row.category.key, "es")
        named = f" ({heading})" if heading != row.category.key else ""
        message = translate(row.code.message_key, "en").replace("|", "\\|").replace("\n", " ")
        print(
            f"| `{row.code.value}` | {row.category.value}{named} | {row.scope.value} "
            f"| {row.impact.value} | {_yes(row.permanent)} | {_yes(row.retryable)} | {message} |"
        )


if __name__ == "__main__":
    main()
