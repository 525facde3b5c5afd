from django.apps import AppConfig


class DenormConfig(AppConfig):
    """The denormalisation registry: each app's ``denormalisations.py`` is autodiscovered here.

    The label stays ``crowd`` (this app's models lived in the project package before) so that its
    table (``crowd_denormalisationstate``) and migration history are unchanged.
    """

    name = "denorm"
    label = "crowd"
    verbose_name = "Denormalisations"

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        autodiscover_modules("denormalisations")
