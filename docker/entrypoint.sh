#!/bin/sh
# web: migrate then serve with gunicorn; worker: a Celery worker; beat: the scheduler.
set -e
case "$1" in
  web)
    python manage.py migrate --noinput
    python manage.py load_census
    exec gunicorn config.wsgi:application --bind 0.0.0.0:8000 \
      --workers "${WEB_CONCURRENCY:-2}" --threads "${WEB_THREADS:-4}" --access-logfile - \
      --timeout "${WEB_TIMEOUT:-30}" --graceful-timeout 20 --keep-alive 5
    ;;
  worker)
    exec celery -A config worker --loglevel INFO --concurrency "${WORKER_CONCURRENCY:-2}"
    ;;
  beat)
    exec celery -A config beat --loglevel INFO --schedule /tmp/celerybeat-schedule
    ;;
  *)
    exec "$@"
    ;;
esac
