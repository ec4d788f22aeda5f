"""Credentials: passwords, the second factor, sessions, API tokens and the sign-in throttle.

Rules (OWASP ASVS 5.0 level 2):
- Passwords are hashed with argon2id; an unknown e-mail costs the same hash as a wrong password.
- Every account needs a TOTP second factor; only demo accounts skip it, and only while
  MARAC_ENV=demo.
- Sessions live in a table, keyed by the sha256 of a random cookie value: idle timeout
  30 minutes, absolute 12 hours; disabling a user or changing their password ends them all.
- Five failed attempts for one account from one address within 15 minutes throttle that
  pair; many failures from one address throttle the address (password spraying). Only a
  passed second factor clears them: a password success never does.
- Five second-factor tries in a row that fail (sign-in, step-up or break-glass, from any
  address) lock the account, not the address: see LOCK_PERIOD for why and for how long.
- Passwords on zxcvbn's shipped lists of common and breached passwords, or as easy to guess,
  are refused wherever a password is set.
- API tokens expire (90 days unless set otherwise at creation).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F
from tortoise.transactions import in_transaction
from zxcvbn import zxcvbn

from marac import notices, settings
from marac.agencies import locks, queries
from marac.agencies.models import ApiToken, LoginFailure, Session, User
from marac.audit.service import record
from marac.clock import now, uk_date
from marac.errors import RuleViolation, Throttled
from marac.i18n import gettext as _
from marac.i18n import lazy_gettext
from marac.validation import whole_number

IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
# A session that has passed the password but not yet the second factor.
PENDING_MFA_TIMEOUT = timedelta(minutes=10)
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT_AND_IP = 5
MAX_FAILURES_PER_IP = 30
# Creating accounts, resetting sign-in, adding an agency to a conference or an API token: only
# within this long of giving both factors (a walked-away-from or stolen session cannot).
STEP_UP_LIFETIME = timedelta(minutes=15)
STEP_UP_ERROR = lazy_gettext(
    "Your password or security code is not right. Enter your password and a new code from your authenticator app"
)
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128
# zxcvbn's score: 3 is "safely unguessable" (about 10^8 guesses and more); below it are the
# entries of its common-password lists and their near variants, words, names, keyboard runs
# and repeats (ASVS 2.1.7). Its lists ship inside the package: nothing is fetched.
MIN_PASSWORD_SCORE = 3
WEAK_PASSWORD = lazy_gettext("Choose a password that is harder to guess: it is a common password, or too like one")
# Second-factor tries that fail in a row, from any address, before the account locks. The
# password has been given before any such try, so a lock means that someone probably holds the
# password: the user and their conferences' coordinators are told at once (counts and a link).
MAX_SECOND_FACTOR_FAILURES = 5
# Then one more try an hour, each failure locking again (about 24 guesses a day at most,
# against the million-to-three odds of a code): for a practitioner who mistyped, an hour is
# the cost, not a lost day before a conference waiting for someone to unlock them; for
# someone who holds the password, the remedy is an admin's "reset sign-in", which clears the
# lock with the password and the second factor. A lock that only a person lifts would let
# whoever knows a practitioner's password keep them out of the service at will.
LOCK_PERIOD = timedelta(hours=1)
LOCKED = lazy_gettext(
    "Too many wrong security codes: this account is locked for an hour. "
    "If these were not your attempts, ask your administrator to reset your sign-in"
)
TOKEN_PREFIX = "marac_"
TOKEN_LIFETIME_DAYS = 90
MAX_TOKEN_LIFETIME_DAYS = 366
# Refresh last_seen at most this often: a write per request would serialise SQLite.
TOUCH_INTERVAL = timedelta(seconds=60)

_hasher = PasswordHasher()  # argon2id with the library's current RFC 9106 defaults
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


# --- passwords -----------------------------------------------------------------------


def check_password_rules(password: str, user_inputs: tuple[str, ...] = ()) -> None:
    """Every place a password is set comes here (through hash_password). `user_inputs`: the
    person's e-mail and name, which a password must not lean on."""
    if len(password) < MIN_PASSWORD_LENGTH:
        limit = {"num": MIN_PASSWORD_LENGTH}
        raise RuleViolation(_("Password too short"), {"password": _("Use at least %(num)d characters") % limit})
    if len(password) > MAX_PASSWORD_LENGTH:
        limit = {"num": MAX_PASSWORD_LENGTH}
        raise RuleViolation(_("Password too long"), {"password": _("Use at most %(num)d characters") % limit})
    words = [part for value in user_inputs for part in value.replace("@", " ").replace(".", " ").split() if part]
    if zxcvbn(password, user_inputs=words, max_length=MAX_PASSWORD_LENGTH)["score"] < MIN_PASSWORD_SCORE:
        raise RuleViolation(_("Password too easy to guess"), {"password": str(WEAK_PASSWORD)})


def hash_password(password: str, user_inputs: tuple[str, ...] = ()) -> str:
    check_password_rules(password, user_inputs)
    return _hasher.hash(password)


def password_matches(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


async def revoke_all(user: User, conn: BaseDBAsyncClient | None = None) -> None:
    """End every session and token of the user: used on disable, password change and reset."""
    await Session.filter(user_id=user.id).using_db(conn).delete()
    await ApiToken.filter(user_id=user.id, revoked_at__isnull=True).using_db(conn).update(revoked_at=now())


# --- throttle ------------------------------------------------------------------------


def _account_key(email: str) -> str:
    key = settings.get().derived_key("login-throttle")
    return hmac.new(key, normalise_email(email).encode(), hashlib.sha256).hexdigest()


async def check_throttle(email: str, ip: str) -> None:
    since = now() - THROTTLE_WINDOW
    pair = await LoginFailure.filter(account_key=_account_key(email), ip=ip, at__gte=since).count()
    if pair >= MAX_FAILURES_PER_ACCOUNT_AND_IP:
        raise Throttled(_("Too many failed attempts. Wait 15 minutes and try again."))
    # A trusted proxy's own address is every user's behind it: limiting it would lock them all out.
    if settings.get().is_trusted_proxy(ip):
        return
    if await LoginFailure.filter(ip=ip, at__gte=since).count() >= MAX_FAILURES_PER_IP:
        raise Throttled(_("Too many failed attempts. Wait 15 minutes and try again."))


async def note_failure(email: str, ip: str) -> None:
    await LoginFailure.create(account_key=_account_key(email), ip=ip, at=now())


async def clear_failures(email: str, ip: str) -> None:
    """Only once the second factor has passed (or the whole step-up): clearing on a password
    success let wrong codes be tried without end (tests/test_credentials.py)."""
    await LoginFailure.filter(account_key=_account_key(email), ip=ip).delete()


# --- the second factor's own limit, per account ------------------------------------------


class AccountLocked(Throttled):
    def __init__(self, just_locked: bool = False) -> None:
        super().__init__(str(LOCKED))
        self.just_locked = just_locked  # this try locked it: the caller sends the outbox now


async def _take_second_factor_try(user: User) -> None:
    """Counted before the code is looked at, by a conditional update: posts sent at once
    cannot all slip in under the limit. Raises AccountLocked."""
    at = now()
    # A lock that has run its course allows one try; failing it locks again at once.
    limit = MAX_SECOND_FACTOR_FAILURES
    await User.filter(id=user.id, locked_at__lte=at - LOCK_PERIOD).update(
        locked_at=None, second_factor_failures=limit - 1
    )
    taken = await User.filter(id=user.id, locked_at__isnull=True, second_factor_failures__lt=limit).update(
        second_factor_failures=F("second_factor_failures") + 1
    )
    if not taken:
        raise AccountLocked()


async def _second_factor_passed(user: User) -> None:
    await User.filter(id=user.id).update(second_factor_failures=0, locked_at=None)


async def _second_factor_failed(user: User) -> None:
    """The try taken has failed: at the limit, lock the account, audit it, tell the user and
    their conferences' coordinators in the app and through the e-mail outbox, and raise
    AccountLocked(just_locked=True)."""
    at = now()
    async with in_transaction() as conn:
        at_limit = User.filter(
            id=user.id, locked_at__isnull=True, second_factor_failures__gte=MAX_SECOND_FACTOR_FAILURES
        )
        if not await at_limit.using_db(conn).update(locked_at=at):
            return
        await record(
            "user.lock",
            user_id=user.id,
            agency_id=user.agency_id,
            object_type="user",
            object_id=user.id,
            outcome="denied",
            conn=conn,
        )
        await notices.post(user.id, "own_lock", uk_date(at), conn=conn)
        await locks.tell_by_email(user.id, "own_lock", uk_date(at), conn)
        conferences = [
            c for c in await User.filter(id=user.id).using_db(conn).values_list("conferences__id", flat=True) if c
        ]
        coordinators = await queries.holding_role("coordinator", conferences, conn)
        for coordinator_id in [c for c in coordinators if c != user.id]:
            await notices.post(coordinator_id, "account_lock", uk_date(at), conn=conn)
            await locks.tell_by_email(coordinator_id, "account_lock", uk_date(at), conn)
    raise AccountLocked(just_locked=True)


async def check_second_factor(user: User, code: str, ip: str) -> bool:
    """A sign-in's second factor, under the address throttle and the account's own limit.
    Raises Throttled, or AccountLocked when the account is locked or this failure locks it.
    Only here (and in a passed step-up) are the sign-in failures cleared."""
    await check_throttle(user.email, ip)
    await _take_second_factor_try(user)
    if await verify_totp(user, code):
        await _second_factor_passed(user)
        await clear_failures(user.email, ip)
        return True
    await note_failure(user.email, ip)
    await _second_factor_failed(user)
    return False


@dataclass(frozen=True)
class SignInResult:
    user: User | None  # None: unknown e-mail, wrong password or disabled — one answer for all


async def check_credentials(email: str, password: str, ip: str) -> SignInResult:
    """The first factor. Raises Throttled before looking at the password once the limit is hit."""
    await check_throttle(email, ip)
    user = await User.get_or_none(email=normalise_email(email))
    matches = password_matches(user.password_hash if user else None, password)
    if user is None or user.password_hash is None or not matches or not user.active:
        await note_failure(email, ip)
        return SignInResult(user=None)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        await user.save(update_fields=["password_hash"])
    return SignInResult(user=user)


def skips_mfa(user: User) -> bool:
    return user.demo and settings.get().demo


async def stepped_up(user: User, password: str, code: str, ip: str) -> bool:
    """Step-up before a sensitive action: the password and a new authenticator code again,
    throttled like sign-in (raises Throttled). A failure is noted; the caller clears failures
    once the whole action has succeeded, so probing the action itself still counts."""
    await check_throttle(user.email, ip)
    await _take_second_factor_try(user)  # the account's own limit, whatever the address
    # Both factors are always checked, so the answer and its timing do not say which was wrong.
    password_ok = password_matches(user.password_hash, password)
    code_ok = await verify_totp(user, code.strip()) if not skips_mfa(user) else True
    if password_ok and code_ok:
        await _second_factor_passed(user)
        return True
    await note_failure(user.email, ip)
    await _second_factor_failed(user)
    return False


# --- second factor -------------------------------------------------------------------


def new_totp_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name="MARAC")


SIX_DIGITS = re.compile(r"[0-9]{6}")


def _matching_step(secret: str, code: str, at: datetime) -> int | None:
    code = code.strip().replace(" ", "")
    # ASCII only: "²".isdigit() is true, and compare_digest refuses non-ASCII text.
    if not SIX_DIGITS.fullmatch(code):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(at)
    # One step either side allows for a phone clock a little out.
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


async def verify_totp(user: User, code: str, secret: str | None = None) -> bool:
    """Accept a code once: a step at or before the last accepted one is a replay."""
    secret = secret or user.totp_secret
    if not secret:
        return False
    step = _matching_step(secret, code, now())
    if step is None:
        return False
    # Compare and set in one statement: of two requests posting the same code at once, only
    # the one whose update changed the row gets in (tests/test_credentials.py).
    if not await User.filter(id=user.id, totp_last_step__lt=step).update(totp_last_step=step):
        return False
    user.totp_last_step = step
    return True


async def confirm_totp(user: User, secret: str, code: str) -> bool:
    if not await verify_totp(user, code, secret=secret):
        return False
    user.totp_secret = secret
    user.totp_confirmed = True
    await user.save(update_fields=["totp_secret", "totp_confirmed"])
    return True


# --- sessions ------------------------------------------------------------------------


async def start_session(user: User, mfa_passed: bool) -> str:
    """Returns the cookie value; only its hash is stored."""
    raw = secrets.token_urlsafe(32)
    at = now()
    await Session.create(
        id=sha256(raw),
        user=user,
        mfa_passed=mfa_passed,
        created_at=at,
        last_seen_at=at,
        stepped_up_at=at if mfa_passed else None,
    )
    return raw


def stepped_up_recently(session: Session) -> bool:
    return session.stepped_up_at is not None and now() - session.stepped_up_at <= STEP_UP_LIFETIME


async def mark_stepped_up(session: Session) -> None:
    session.stepped_up_at = now()
    await session.save(update_fields=["stepped_up_at"])


async def rotate_session(raw: str, mfa_passed: bool) -> str | None:
    """Passing the second factor gets a fresh session id (no fixation of the pending one)."""
    session = await Session.get_or_none(id=sha256(raw)).prefetch_related("user")
    if session is None:
        return None
    await session.delete()
    return await start_session(session.user, mfa_passed=mfa_passed)


async def session_user(raw: str | None) -> tuple[Session, User] | None:
    """The live session behind a cookie value, or None (expired ones are deleted)."""
    if not raw or len(raw) > 100:
        return None
    session = await Session.get_or_none(id=sha256(raw)).prefetch_related("user", "user__agency")
    if session is None:
        return None
    at = now()
    idle_limit = IDLE_TIMEOUT if session.mfa_passed else PENDING_MFA_TIMEOUT
    expired = at - session.last_seen_at > idle_limit or at - session.created_at > ABSOLUTE_TIMEOUT
    if expired or not session.user.active:
        await session.delete()
        return None
    if at - session.last_seen_at > TOUCH_INTERVAL:
        session.last_seen_at = at
        await Session.filter(id=session.id).update(last_seen_at=at)
    return session, session.user


async def end_session(raw: str | None) -> None:
    if raw:
        await Session.filter(id=sha256(raw)).delete()


async def purge_expired() -> int:
    """Delete sessions past either timeout and throttle records past their window."""
    at = now()
    removed = await Session.filter(last_seen_at__lt=at - IDLE_TIMEOUT).delete()
    removed += await Session.filter(created_at__lt=at - ABSOLUTE_TIMEOUT).delete()
    removed += await LoginFailure.filter(at__lt=at - THROTTLE_WINDOW).delete()
    return removed


# --- API tokens ----------------------------------------------------------------------


def token_lifetime(days: str | int | None) -> timedelta:
    """How long a new token lasts: whole days, 1 to MAX_TOKEN_LIFETIME_DAYS; blank is the default."""
    if days is None or (isinstance(days, str) and not days.strip()):
        return timedelta(days=TOKEN_LIFETIME_DAYS)
    lifetime = whole_number(str(days).strip(), 1, MAX_TOKEN_LIFETIME_DAYS)
    if lifetime is None:
        raise RuleViolation(
            _("Token lifetime not valid"),
            {"expires_in_days": _("Enter a whole number of days from 1 to %(num)d") % {"num": MAX_TOKEN_LIFETIME_DAYS}},
        )
    return timedelta(days=lifetime)


async def create_token(user: User, label: str, days: str | int | None = None) -> tuple[ApiToken, str]:
    label = label.strip()
    if not label or len(label) > 100:
        raise RuleViolation(_("Give the token a name"), {"label": _("Enter a name of up to 100 characters")})
    lifetime = token_lifetime(days)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = await ApiToken.create(user=user, token_hash=sha256(raw), label=label, expires_at=now() + lifetime)
    return token, raw


@dataclass(frozen=True)
class TokenHolder:
    user: User
    conferences: tuple[str, ...]  # the conferences the user was given
    agency_member_of: frozenset[str]  # those of them whose membership the user's agency holds
    conference_roles: dict[str, str | None]  # the user's role in each (None: their own)
    receiving: frozenset[str]  # those whose referrals the user's agency receives


async def token_holder(raw: str | None) -> TokenHolder | None:
    """The active user a bearer token belongs to, with their conferences; None for an unknown,
    revoked, expired or malformed token or a disabled user. Every API request pays for this, so
    it is one hand-written query (agencies/queries.py)."""
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    rows = await queries.token_rows(sha256(raw))
    if not rows:
        return None
    # Compared here, not in SQL: SQLite keeps times as text, whose comparison with a bound value
    # depends on formatting.
    at, expires = now(), ApiToken._meta.fields_map["expires_at"].to_python_value(rows[0]["token_expires_at"])
    if expires is None or expires <= at:
        return None
    user = User._init_from_db(**dict(rows[0]))
    if not user.active:
        return None
    last_used = ApiToken._meta.fields_map["last_used_at"].to_python_value(rows[0]["token_used_at"])
    if last_used is None or at - last_used > TOUCH_INTERVAL:
        await ApiToken.filter(id=rows[0]["token_id"]).update(last_used_at=at)
    return TokenHolder(
        user,
        tuple(row["assigned"] for row in rows if row["assigned"] is not None),
        frozenset(row["assigned"] for row in rows if row["membership_id"] is not None),
        {row["assigned"]: row["conference_role"] for row in rows if row["assigned"] is not None},
        frozenset(row["assigned"] for row in rows if row["membership_id"] is not None and row["receives_referrals"]),
    )


async def revoke_token(user: User, token_id: str) -> bool:
    return await ApiToken.filter(id=token_id, user_id=user.id, revoked_at__isnull=True).update(revoked_at=now()) > 0
