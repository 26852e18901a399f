"""Pages with a ceiling: ``?limit=`` above it gives a page of the ceiling's size and a ``next`` link to the rest."""

from __future__ import annotations

from rest_framework.pagination import LimitOffsetPagination


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """The default page (PAGE_SIZE, 50) and at most ``max_limit`` rows: one request cannot ask for a whole table."""

    max_limit = 500


class RunEventPagination(BoundedLimitOffsetPagination):
    """A run's log: up to 1,000 lines a page (a full-blueprint apply writes a few thousand)."""

    max_limit = 1000
