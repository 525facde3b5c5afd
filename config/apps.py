from django.apps import AppConfig


class CrowdConfig(AppConfig):
    """Project-wide wiring: the denormalisation registry is autodiscovered here."""

    name = "config"
    label = "crowd"
    verbose_name = "Crowd review"

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        from config import checks  # noqa: F401  (registers system checks)

        autodiscover_modules("denormalisations")
