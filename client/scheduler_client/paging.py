"""Following next_token for `find`, in both clients: each token is followed once. A server
that hands back one it already gave (a bug, or a proxy replaying a cached page) would
otherwise be asked for the same pages forever."""

from __future__ import annotations

from scheduler_client.errors import RepeatedPageToken


class PageTrail:
    """The next_tokens one `find` has followed."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def follow(self, token: str | None) -> str | None:
        """The token to ask for next (None: that was the last page), or RepeatedPageToken."""
        if token is None:
            return None
        if token in self._seen:
            raise RepeatedPageToken(
                f"The server answered next_token {token!r} a second time: paging stopped",
                status=200,
            )
        self._seen.add(token)
        return token
