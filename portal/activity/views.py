"""The activity page: the activity log with filters, for admins only."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from portal.accounts.roles import admin_required
from portal.activity.filtersets import ActivityEntryFilterSet
from portal.activity.models import ActivityEntry

PAGE_SIZE = 100


@admin_required("Only admins can see the activity log.")
@require_GET
def activity_list(request):
    filterset = ActivityEntryFilterSet(request.GET or None, queryset=ActivityEntry.objects.select_related("actor"))
    events = filterset.matching()
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "activity/activity_list.html",
        {"filters": filterset.page_form(), "page": page, "query": query.urlencode(), "filtered": bool(query)},
    )
