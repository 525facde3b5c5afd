from django.urls import path, re_path

from search import api, views

urlpatterns = [
    path("search/", views.search_page, name="search"),
    path("search/feed/", views.SearchFeed(), name="search-feed"),
    re_path(r"^search/export\.(?P<fmt>csv|jsonl)$", views.export, name="search-export"),
    path("api/search/", api.SearchView.as_view(), name="api-search"),
]
