from django.apps import AppConfig


class PageCacheConfig(AppConfig):
    name = "pagecache"
    verbose_name = "Page cache"

    def ready(self) -> None:
        # Receivers that bump generations after writes (registered on import).
        from pagecache import receivers  # noqa: F401
