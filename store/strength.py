"""How strong a secret is: admin tokens and user passwords.

Layer: adapters (pure functions; zxcvbn's frequency lists are the list of common
passwords). Used by the settings (``GRIDWATCH_ADMIN_TOKEN``), the user store and
``gridwatch user``.
"""

from __future__ import annotations

import math
from collections import Counter

MIN_TOKEN_CHARS = 32
MIN_TOKEN_BITS = 128.0
MIN_PASSWORD_CHARS = 8
# zxcvbn scores 0-4; 0 and 1 are "too guessable" / "very guessable" (the top of its
# 30,000 common passwords, keyboard walks, a word with a digit: "Passw0rd!").
MIN_PASSWORD_SCORE = 2
# zxcvbn's matching grows faster than linearly with length; the head decides anyway.
_CHECKED_CHARS = 64


def shannon_bits(text: str) -> float:
    """The length times the Shannon entropy of the character distribution: an upper
    bound of the secret's strength that catches repetition (``aaaa``, ``abab``)."""
    if not text:
        return 0.0
    n = len(text)
    return -n * sum(c / n * math.log2(c / n) for c in Counter(text).values())


def token_problem(token: str) -> str | None:
    """What is wrong with an admin bearer token, or None when it is strong enough."""
    if len(token) < MIN_TOKEN_CHARS:
        return (f"is too short: at least {MIN_TOKEN_CHARS} characters "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
    if shannon_bits(token) < MIN_TOKEN_BITS:
        return f"is too predictable (repeated characters): use a random token of {MIN_TOKEN_CHARS}+ characters"
    return None


def password_problem(password: str, *, login: str = "") -> str | None:
    """What is wrong with a password, or None when it may be used.

    Refused: under 8 characters, and what zxcvbn scores under 2 (common passwords,
    keyboard walks, the login with digits, dates).
    """
    if len(password) < MIN_PASSWORD_CHARS:
        return f"a password needs at least {MIN_PASSWORD_CHARS} characters"
    from zxcvbn import zxcvbn  # noqa: PLC0415 - loads its word lists; only when a password is set

    result = zxcvbn(password[:_CHECKED_CHARS], user_inputs=[login, "gridwatch"] if login else ["gridwatch"])
    if int(result["score"]) < MIN_PASSWORD_SCORE:
        hint = result.get("feedback", {}).get("warning") or "it is easy to guess"
        return f"this password is too common or easy to guess ({hint})"
    return None
