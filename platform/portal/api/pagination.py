from django.core.paginator import Paginator
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


def _positive(request, name):
    """The query parameter as a whole number ≥ 1, None when absent; 400 naming it otherwise."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        number = int(raw)
    except ValueError:
        number = 0
    if number < 1:
        raise ValidationError({name: ["Give a whole number of at least 1."]})
    return number


class ShortListPaginator(Paginator):
    """Reads the first page with one row more than it shows: when that row is not there, the page is the
    whole list and its length is the count. Most lists (a person's workspaces, tokens, projects) are one
    page, and the COUNT query would be one query too many on every request."""

    def page(self, number):
        if str(number) != "1" or "count" in self.__dict__:
            return super().page(number)
        rows = list(self.object_list[: self.per_page + 1])
        if len(rows) <= self.per_page:
            self.__dict__["count"] = len(rows)  # Paginator.count is a cached_property: this is its cache
        return self._get_page(rows[: self.per_page], 1, self)


class PagePagination(PageNumberPagination):
    """``?page=N&page_size=M``; answers ``{count, next, previous, results}``.

    A page size or page that is not a positive whole number is a 400 (DRF would quietly use the
    default); a page past the last is a 404."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    django_paginator_class = ShortListPaginator

    def get_page_size(self, request):
        size = _positive(request, self.page_size_query_param)
        return self.page_size if size is None else min(size, self.max_page_size)

    def paginate_queryset(self, queryset, request, view=None):
        if request.query_params.get(self.page_query_param) not in self.last_page_strings:
            _positive(request, self.page_query_param)
        return super().paginate_queryset(queryset, request, view)
