from django.apps import AppConfig


class LibConfig(AppConfig):
    """Infrastructure shared by the feature apps: clients, keys, embedded servers, web helpers.

    An app only so that its system checks, template filters and operations commands
    (``serve``, ``services``) are found; it has no models.
    """

    name = "lib"
    label = "crowdlib"
    verbose_name = "Crowd review infrastructure"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from lib import (
            checks,  # noqa: F401  (registers system checks)
            ids,
        )

        ids.register()  # <id:...> in the URLconfs, loaded after the apps
        from lib.middleware import stamp_session_renewal

        # A session starts renewed: the login saves it anyway, so the stamp costs no write.
        user_logged_in.connect(stamp_session_renewal, dispatch_uid="crowd-session-renewal")
        from lib import metrics

        # Task outcomes (crowd_celery_tasks_total), in whichever process runs the task.
        metrics.connect_celery_signals()
        from lib import logs

        # The request id into the tasks a request queues (lib/logs.py).
        logs.connect_celery_signals()
