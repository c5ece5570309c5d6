"""Who a bearer token belongs to, remembered for a moment: bounded, and never past a revocation.

Looking a token up in the store on every request would put a query in front of every read;
remembering it for ever (as airwarn once did) kept a revoked token working until a restart
and let made-up tokens grow memory without end. This cache keeps:

- **known tokens** in a least-recently-used map of at most `max_known` entries, valid only
  while the store's *token generation* (a counter every revocation bumps, in the same
  transaction) is the one this process last read, and only while that reading is at most
  `max_stale_s` old. Every process reads the generation every `recheck_s` (one indexed row);
  when it moves, everything known is forgotten at once. So a revocation, made by any process
  or by the CLI on no bus at all, takes effect within `recheck_s` plus a query, and never
  later than `max_stale_s`, even when the store cannot be read (then lookups go to the store,
  and fail with 503 if it is down).
- **unknown tokens** in a second map of at most `max_unknown` entries, each for `unknown_ttl_s`:
  a flood of made-up tokens costs one query each, at most once per `unknown_ttl_s`, and can
  neither grow memory nor push the known tokens out.

Keys are SHA-256 digests (32 bytes), whatever length a client sends. Times are passed in
(monotonic seconds), so the cache itself holds no clock.
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from dataclasses import dataclass

from airwarn.store.tokens import Client

MAX_TOKEN_CHARS = 256  # airwarn's tokens are 46 characters; anything this long is not one


@dataclass(frozen=True)
class TokenCacheSettings:
    max_known: int = 10_000
    max_unknown: int = 10_000
    unknown_ttl_s: float = 5.0
    recheck_s: float = 0.25
    max_stale_s: float = 1.0


def cache_key(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


class TokenCache:
    """Not thread-safe: used from the event loop only (lookups in the store run off it)."""

    def __init__(self, settings: TokenCacheSettings | None = None) -> None:
        self.settings = settings or TokenCacheSettings()
        self._known: OrderedDict[bytes, Client] = OrderedDict()
        self._unknown: OrderedDict[bytes, float] = OrderedDict()  # key -> expiry
        self.generation: int | None = None  # the store's, as last read; None: never read
        self.confirmed_at = -math.inf  # when it was last read

    def __len__(self) -> int:
        return len(self._known) + len(self._unknown)

    def fresh(self, now: float) -> bool:
        """Whether the generation was read recently enough to trust what is known."""
        return self.generation is not None and now - self.confirmed_at <= self.settings.max_stale_s

    def lookup(self, key: bytes, now: float) -> tuple[bool, Client | None]:
        """(True, client) for a token known, (True, None) for one known not to exist, and
        (False, None) when the store must be asked."""
        client = self._known.get(key)
        if client is not None:
            if self.fresh(now):
                self._known.move_to_end(key)
                return True, client
            return False, None
        expiry = self._unknown.get(key)
        if expiry is not None:
            if now < expiry:
                return True, None
            del self._unknown[key]
        return False, None

    def remember(
        self, key: bytes, client: Client | None, generation: int | None, now: float
    ) -> None:
        """Keep what the store said; `generation` is the one read before asking it, so an
        answer that crossed a revocation is not kept (the revocation may be about it)."""
        if client is None:
            self._known.pop(key, None)
            self._unknown[key] = now + self.settings.unknown_ttl_s
            self._unknown.move_to_end(key)
            while len(self._unknown) > self.settings.max_unknown:
                self._unknown.popitem(last=False)
            return
        self._unknown.pop(key, None)
        if generation is None or generation != self.generation:
            return
        self._known[key] = client
        self._known.move_to_end(key)
        while len(self._known) > self.settings.max_known:
            self._known.popitem(last=False)

    def observe(self, generation: int, now: float) -> bool:
        """The store's generation, just read. True if it moved: everything known is forgotten
        (a token may have been revoked), and live streams bound to tokens must check theirs."""
        self.confirmed_at = now
        if generation == self.generation:
            return False
        changed = self.generation is not None
        self.generation = generation
        self._known.clear()
        return changed
