"""The auth flows' rules: passwords, verification, sessions, single-use tokens, no enumeration, limits."""

from __future__ import annotations

import threading

import pytest

from ontology import run_query
from ontology.auth import accounts as auth
from ontology.errors import EmailNotVerifiedError, RateLimitedError, UnauthenticatedError, ValidationError
from tests.auth.conftest import BASE, link_token

PASSWORD = "correct horse battery staple"


def signed_up(deliver, email: str = "ada@example.com") -> str:
    auth.sign_up(email=email, password=PASSWORD, name="Ada", base_url=BASE)
    (message,) = [m for m in deliver() if m["to"] == email and "Verify" in m["subject"]][:1]
    return link_token(message)


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "PASSWORD_TOO_SHORT"),
        ("x" * 129, "PASSWORD_TOO_LONG"),
        ("password1", "PASSWORD_TOO_COMMON"),
        ("Qwerty123", "PASSWORD_TOO_COMMON"),
        ("aaaaaaaaaaaa", "PASSWORD_TOO_COMMON"),
    ],
)
def test_password_policy(password: str, reason: str) -> None:
    with pytest.raises(ValidationError) as err:
        auth.check_password_policy(password)
    assert err.value.data["reason"] == reason


def test_passwords_are_never_truncated() -> None:
    long_a, long_b = "a-long-pass-" + "x" * 100 + "1", "a-long-pass-" + "x" * 100 + "2"
    h = auth.hash_password(long_a)
    assert h.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert auth.verify_password(h, long_a) and not auth.verify_password(h, long_b)
    assert not auth.verify_password(None, long_a)


def test_sign_up_sends_verification_and_sign_in_needs_it(deliver) -> None:
    user = auth.sign_up(email="ada@example.com", password=PASSWORD, name="Ada", base_url=BASE)
    assert user["emailVerified"] is False
    with pytest.raises(EmailNotVerifiedError):
        auth.sign_in(email="ada@example.com", password=PASSWORD)
    (mail,) = deliver()
    assert mail["to"] == "ada@example.com" and mail["subject"] == "Verify your email address"
    assert auth.verify_email(link_token(mail))["emailVerified"] is True
    info = auth.sign_in(email="ADA@example.com", password=PASSWORD)
    assert len(info.token) >= 43 and info.user["email"] == "ada@example.com"
    stored = run_query(lambda db: db.get(info.session["_id"], "sessions"), org=None, platform=True)
    assert info.token not in str(stored) and stored["tokenHash"] == auth.hash_token(info.token)
    assert stored["activeOrganizationId"].startswith("org_")


def test_tokens_are_single_use_and_racing_redemptions_have_one_winner(deliver) -> None:
    token = signed_up(deliver)
    results: list[str] = []
    barrier = threading.Barrier(5)

    def redeem() -> None:
        barrier.wait()
        try:
            auth.verify_email(token)
            results.append("ok")
        except ValidationError:
            results.append("invalid")
        except Exception as exc:
            results.append(repr(exc))

    threads = [threading.Thread(target=redeem) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["invalid"] * 4 + ["ok"]
    with pytest.raises(ValidationError):
        auth.verify_email(token)
    assert run_query(lambda db: db.query("verificationTokens").collect(), org=None, platform=True) == []


def test_no_enumeration_on_sign_up_sign_in_and_reset(deliver) -> None:
    auth.verify_email(signed_up(deliver))
    taken = auth.sign_up(email="ada@example.com", password="another good password", name="Eve", base_url=BASE)
    fresh = auth.sign_up(email="new@example.com", password="another good password", name="Eve", base_url=BASE)
    assert set(taken) == set(fresh) and taken["emailVerified"] is False
    subjects = [m["subject"] for m in deliver() if m["to"] == "ada@example.com"]
    assert "You already have an account" in subjects, "the owner is told, not the caller"
    for email in ("ada@example.com", "nobody@example.com"):
        with pytest.raises(UnauthenticatedError) as err:
            auth.sign_in(email=email, password="wrong password!!")
        assert err.value.message == "Invalid email or password"
    assert auth.request_password_reset(email="nobody@example.com", base_url=BASE) is None
    assert auth.request_password_reset(email="ada@example.com", base_url=BASE) is None


def test_password_reset_revokes_sessions_and_is_single_use(deliver) -> None:
    auth.verify_email(signed_up(deliver))
    first = auth.sign_in(email="ada@example.com", password=PASSWORD)
    second = auth.sign_in(email="ada@example.com", password=PASSWORD)
    auth.request_password_reset(
        email="ada@example.com", base_url=BASE, redirect_to="https://app.example/reset"
    )
    mail = next(m for m in deliver() if m["subject"] == "Reset your password")
    token = link_token(mail)
    with pytest.raises(ValidationError):
        auth.reset_password(token=token, new_password="short")
    auth.reset_password(token=token, new_password="a brand new passphrase")
    assert auth.get_session(first.token) is None and auth.get_session(second.token) is None
    with pytest.raises(UnauthenticatedError):
        auth.sign_in(email="ada@example.com", password=PASSWORD)
    assert auth.sign_in(email="ada@example.com", password="a brand new passphrase").token
    with pytest.raises(ValidationError):
        auth.reset_password(token=token, new_password="yet another passphrase")


def test_sign_out_revokes_and_sessions_roll(deliver, monkeypatch) -> None:
    auth.verify_email(signed_up(deliver))
    info = auth.sign_in(email="ada@example.com", password=PASSWORD)
    assert auth.get_session(info.token).session["expiresAt"] == info.session["expiresAt"]
    later = info.session["createdAt"] + auth.SESSION_UPDATE_AGE_MS + 1000
    monkeypatch.setattr(auth, "now_ms", lambda: later)
    rolled = auth.get_session(info.token)
    assert rolled.session["expiresAt"] == later + auth.SESSION_TTL_MS
    monkeypatch.undo()
    assert auth.sign_out(info.token) is True
    assert auth.get_session(info.token) is None and auth.sign_out(info.token) is False


def test_failed_sign_ins_hold_back_the_address_not_the_account(deliver) -> None:
    auth.verify_email(signed_up(deliver))
    attacker, owner = "203.0.113.9", "198.51.100.7"
    for _ in range(auth.SIGN_IN_BACKOFF.free):
        with pytest.raises(UnauthenticatedError):
            auth.sign_in(email="ada@example.com", password="wrong password!!", ip=attacker)
    # the address that failed waits, whatever it tries (the right password is not even checked)
    with pytest.raises(RateLimitedError) as err:
        auth.sign_in(email="ada@example.com", password=PASSWORD, ip=attacker)
    assert 1 <= err.value.data["retryAfter"] <= auth.SIGN_IN_BACKOFF.base
    # an unknown email from there answers alike: the wait tells nothing about accounts
    for _ in range(auth.SIGN_IN_BACKOFF.free):
        with pytest.raises(UnauthenticatedError):
            auth.sign_in(email="nobody@example.com", password="wrong password!!", ip=attacker)
    with pytest.raises(RateLimitedError):
        auth.sign_in(email="nobody@example.com", password="wrong password!!", ip=attacker)
    # the owner, elsewhere, signs in; a success from an address forgets its failures
    for _ in range(auth.SIGN_IN_BACKOFF.free - 1):
        with pytest.raises(UnauthenticatedError):
            auth.sign_in(email="ada@example.com", password="a typo in it!!", ip=owner)
    assert (
        auth.sign_in(email="ada@example.com", password=PASSWORD, ip=owner).user["email"] == "ada@example.com"
    )
    for _ in range(auth.SIGN_IN_BACKOFF.free - 1):
        with pytest.raises(UnauthenticatedError):
            auth.sign_in(email="ada@example.com", password="a typo in it!!", ip=owner)
    assert auth.sign_in(email="ada@example.com", password=PASSWORD, ip=owner).token


def test_emails_are_rate_limited_per_address(deliver) -> None:
    auth.sign_up(email="ada@example.com", password=PASSWORD, name="Ada", base_url=BASE)
    for _ in range(4):
        auth.send_verification_email(email="ada@example.com", base_url=BASE)
    with pytest.raises(RateLimitedError):
        auth.send_verification_email(email="ada@example.com", base_url=BASE)
    assert len([m for m in deliver() if m["to"] == "ada@example.com"]) == auth.EMAILS_PER_HOUR
    for _ in range(5):
        auth.request_password_reset(email="ghost@example.com", base_url=BASE)
    with pytest.raises(RateLimitedError):
        auth.request_password_reset(email="ghost@example.com", base_url=BASE)
