"""Names of the files and folders the user names (a saved scenario, a report): one path component each, so a
result lands in its folder and nowhere else.

The rule is shared by `forecast report --name`, run_report and the what-if panel's "save as".
"""

from __future__ import annotations

import unicodedata

NAME_MAX_CHARS, NAME_MAX_BYTES = 100, 200  # room for -vN, failed- and a temporary prefix within 255 bytes


def name_problem(text: str) -> str | None:
    """Why `text` is not a plain file or folder name (one path component that stays in its folder), or None.

    >>> name_problem("q3-plan"), name_problem("../x"), name_problem(".hidden")
    (None, "must not contain '/' or '\\\\'", "must not start with '.'")
    """
    if not text.strip():
        return "must not be empty"
    if "/" in text or "\\" in text:
        return "must not contain '/' or '\\'"
    if ".." in text:
        return "must not contain '..'"
    if text.startswith("."):
        return "must not start with '.'"
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        return "must not contain control characters"
    if len(text) > NAME_MAX_CHARS or len(text.encode("utf-8", "surrogateescape")) > NAME_MAX_BYTES:
        return f"must be at most {NAME_MAX_CHARS} characters ({NAME_MAX_BYTES} bytes as UTF-8)"
    return None
