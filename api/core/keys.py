"""API keys: bearer tokens made by `fitq create-key`, kept only as their SHA-256. Functions
here flush, never commit: the CLI's session_scope or the request's session is the edge."""

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.tables import ApiKey, utcnow

# A recognizable prefix lets secret scanners and people spot a leaked token.
TOKEN_PREFIX = "fitq_"
PREFIX_CHARS = 12  # api_keys.prefix: "fitq_" and 7 random characters, to tell keys apart
OWNER_MAX = 100  # the owner columns


class KeyRefusedError(ValueError):
    """A create or revoke that cannot be done; the message says why."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_key(session: Session, owner: str) -> str:
    """A new token for `owner`, returned once: only its hash is stored."""
    owner = owner.strip()
    if not owner or len(owner) > OWNER_MAX:
        raise KeyRefusedError(f"an owner is 1 to {OWNER_MAX} characters")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiKey(owner=owner, key_hash=hash_token(token), prefix=token[:PREFIX_CHARS]))
    session.flush()
    return token


def owner_of(session: Session, token: str) -> str | None:
    """The owner of a valid, unrevoked token; None otherwise. The lookup is by hash (an
    attacker cannot steer which row a guess lands near), then compared in constant time."""
    digest = hash_token(token)
    key = session.scalars(
        select(ApiKey).where(ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None))
    ).first()
    if key is None or not hmac.compare_digest(key.key_hash, digest):
        return None
    return key.owner


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke_key(session: Session, prefix: str) -> ApiKey:
    """Revoke the one active key whose prefix is `prefix`; an unknown or ambiguous prefix is
    refused rather than guessed at."""
    active = list(
        session.scalars(select(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None)))
    )
    if len(active) != 1:
        problem = "no active key has" if not active else f"{len(active)} active keys have"
        raise KeyRefusedError(f"{problem} the prefix '{prefix}'")
    active[0].revoked_at = utcnow()
    session.flush()
    return active[0]
