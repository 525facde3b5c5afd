from django.apps import AppConfig


class ModerationConfig(AppConfig):
    """Takedown (withdrawing pages and documents from every public surface) and quarantine
    (a reviewer's reviews stop counting), with the staff pages that drive and explain them."""

    name = "moderation"
    verbose_name = "Moderation"

    def ready(self) -> None:
        # The new-account limit (reviews, a lower layer) asks us about exempt address ranges.
        from moderation.exemptions import address_is_exempt
        from reviews import ratelimit

        ratelimit.register_new_account_exemption(address_is_exempt)
