from django.apps import AppConfig


class ModerationConfig(AppConfig):
    """Takedown (withdrawing pages and documents from every public surface) and quarantine
    (a reviewer's reviews stop counting), with the staff pages that drive and explain them."""

    name = "moderation"
    verbose_name = "Moderation"
