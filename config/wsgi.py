import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Import the whole URLconf (the API's and its schema's modules with it) and build the reverse
# map now, not on a worker's first request: under load that first request took about a second
# of CPU in each new worker. With gunicorn's preload_app (gunicorn.conf.py) it is done once, in
# the master, before the workers fork. Opens no connection: nothing to share across the fork.
from django.urls import get_resolver  # noqa: E402

get_resolver().reverse_dict  # noqa: B018
