"""Admin tokens and passwords that are refused (store.strength)."""

from __future__ import annotations

import secrets

import pytest

from store.strength import password_problem, shannon_bits, token_problem


@pytest.mark.parametrize("token", ["a", "s3cret", "web-admin-token", "x" * 31])
def test_short_admin_tokens_are_refused(token):
    assert "too short" in (token_problem(token) or "")


@pytest.mark.parametrize("token", ["a" * 64, "ab" * 20, "0123" * 10])
def test_repetitive_admin_tokens_are_refused(token):
    assert "predictable" in (token_problem(token) or "")


def test_random_tokens_pass():
    for _ in range(20):
        assert token_problem(secrets.token_urlsafe(32)) is None
    assert shannon_bits("") == 0.0


@pytest.mark.parametrize("pw", ["password", "12345678", "qwertyuiop", "Passw0rd!", "iloveyou1",
                                "zhangwei123", "gridwatch1"])
def test_common_passwords_are_refused(pw):
    assert password_problem(pw, login="zhangwei") is not None


def test_short_passwords_are_refused():
    assert "8 characters" in (password_problem("Xk#9q") or "")


@pytest.mark.parametrize("pw", ["pw-zhangwei-123", "correct horse battery", "a long passphrase",
                                "an admin passphrase 7"])
def test_ordinary_good_passwords_pass(pw):
    assert password_problem(pw, login="zhangwei") is None
