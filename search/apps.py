from django.apps import AppConfig


class SearchConfig(AppConfig):
    """Page text (text layers and OCR) and full-text search over it."""

    name = "search"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from search import receivers

        receivers.connect()
