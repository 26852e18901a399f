"""Django's database cache with counters that several processes can share without losing a count."""

from __future__ import annotations

from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router, transaction


class DatabaseCounterCache(DatabaseCache):
    """A DatabaseCache whose ``incr`` and ``decr`` are atomic across processes.

    Django's version reads the value and writes it back in two statements: two processes counting at once both
    read 5 and both write 6, and a failed sign-in goes uncounted. Here the read and the write are one transaction
    that first locks the key's row (an UPDATE that changes nothing): on PostgreSQL the row lock makes a concurrent
    ``incr`` of the same key wait until this one commits, then read its result; on SQLite the UPDATE takes the
    database's write lock, which other writers wait for.
    """

    def incr(self, key, delta: int = 1, version=None) -> int:
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        quote = connection.ops.quote_name
        with transaction.atomic(using=db), connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {quote(self._table)} SET {quote('expires')} = {quote('expires')} WHERE {quote('cache_key')} = %s",
                [self.make_and_validate_key(key, version=version)],
            )
            return super().incr(key, delta, version=version)
