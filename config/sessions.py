"""The session engine (``SESSION_ENGINE``): Django's cached_db sessions (read from the shared cache,
the database behind it) that keep working while the cache is down.

Django's cached_db store tolerates a cache outage in part: a failed read is a miss and a failed write
after the database's is logged. But it lets the cache's error through where it makes a new session
key (``exists()`` asks the cache first) and where it copies a session read from the database back
into the cache (``load()``): with Redis down, a first visit and every returning visitor's request
failed (a ConnectionError, a 500). Here both fall back to the database alone, which holds every
session: its row is what makes a key unique (``save(must_create=True)`` inserts it). Deleting a
session still fails while the cache is down: a logged-out session must not stay readable from it."""

import logging

from django.contrib.sessions.backends import cached_db, db

logger = logging.getLogger(__name__)


def _unreachable(exc: Exception, what: str) -> None:
    logger.warning("session cache unreachable (%s): %s from the database", type(exc).__name__, what)


class SessionStore(cached_db.SessionStore):
    def exists(self, session_key):
        try:
            return super().exists(session_key)
        except Exception as exc:  # the cache client's errors (redis' ConnectionError, TimeoutError)
            _unreachable(exc, "whether the key exists")
            return db.SessionStore.exists(self, session_key)

    async def aexists(self, session_key):
        try:
            return await super().aexists(session_key)
        except Exception as exc:
            _unreachable(exc, "whether the key exists")
            return await db.SessionStore.aexists(self, session_key)

    def load(self):
        try:
            return super().load()
        except Exception as exc:
            _unreachable(exc, "the session")
            return db.SessionStore.load(self)

    async def aload(self):
        try:
            return await super().aload()
        except Exception as exc:
            _unreachable(exc, "the session")
            return await db.SessionStore.aload(self)
