# Launchpad: one image for the web server, the Celery worker and beat, and the local AWS emulator.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LAUNCHPAD_DATA_DIR=/var/lib/launchpad \
    LAUNCHPAD_WORK_DIR=/var/lib/launchpad/work \
    LAUNCHPAD_HOME=/var/cache/launchpad

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
RUN SECRET_KEY=build-only-not-used-at-run-time python manage.py collectstatic --noinput -v 0 \
    && useradd --system --home /app launchpad \
    && mkdir -p /var/lib/launchpad/work /var/cache/launchpad \
    && chown -R launchpad /var/lib/launchpad /var/cache/launchpad
USER launchpad

EXPOSE 8000
CMD ["gunicorn", "portal.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", "--access-logfile", "-"]
