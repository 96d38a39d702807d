"""Dashboard sessions: the cookie holds a signed session value, never the API token.

A session is `nonce.issued.mac`, where mac = HMAC-SHA256(key=the API token it was made
from, nonce and issue time). Any process holding SCHEDULER_API_TOKENS can check it, so it
works under WORKERS=N and across restarts with no shared store; it cannot be turned back
into the token; it expires after SESSION_SECONDS; and removing a token from the settings
revokes every session made from it (none verifies against the remaining tokens)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

SESSION_SECONDS = 12 * 60 * 60
_PURPOSE = b"scheduler-dashboard-session-v1"  # this MAC means nothing anywhere else


def _mac(token: str, nonce: str, issued: str) -> str:
    message = b"\0".join((_PURPOSE, nonce.encode(), issued.encode()))
    return hmac.new(token.encode(), message, hashlib.sha256).hexdigest()


def issue_session(token: str, now: float) -> str:
    nonce = secrets.token_urlsafe(18)  # no "." in its alphabet
    issued = str(int(now))
    return f"{nonce}.{issued}.{_mac(token, nonce, issued)}"


def session_valid(value: str, tokens: list[str], now: float) -> bool:
    """Made from one of `tokens` less than SESSION_SECONDS ago; compared with every
    token in constant time, without stopping at a match."""
    parts = value.split(".")
    # ASCII digits, and few: int() raises on 4,301 digits, and on "²" though isdigit() holds.
    if len(parts) != 3 or not (parts[1].isascii() and parts[1].isdigit()) or len(parts[1]) > 12:
        return False
    nonce, issued, mac = parts
    if not 0 <= now - int(issued) < SESSION_SECONDS:
        return False
    found = False
    for token in tokens:
        found |= hmac.compare_digest(mac.encode(), _mac(token, nonce, issued).encode())
    return found
