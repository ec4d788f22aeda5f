# syntax=docker/dockerfile:1
# marac production image. Used by docker-compose.yml (web, worker, migrate).

# --- 1. front-end assets (govuk-frontend + Sass) -------------------------------
FROM node:20-bookworm-slim AS assets
WORKDIR /src
COPY marac/web/assets/ marac/web/assets/
# Always install from the lock file inside the image, never reuse the host's node_modules.
RUN rm -rf marac/web/assets/node_modules && bash marac/web/assets/build.sh

# --- 2. Python virtualenv with marac installed ----------------------------------
# The code lives at /app in both stages: templates/ and agendas/ sit beside the package
# (marac.settings.PROJECT_DIR), so marac is installed in place, not into site-packages.
FROM python:3.12-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
# Exact versions, each file checked against its hash (scripts/lock makes the file); the build
# backend is in it too, so the editable install below fetches nothing.
COPY requirements/base.txt requirements/base.txt
RUN pip install --require-hashes -r requirements/base.txt
COPY pyproject.toml ./
COPY marac/ marac/
COPY templates/ templates/
COPY agendas/ agendas/
RUN rm -rf marac/web/assets/node_modules
COPY --from=assets /src/marac/web/static/ marac/web/static/
RUN pip install --no-deps --no-build-isolation -e . && pip check

# --- 3. runtime -----------------------------------------------------------------
FROM python:3.12-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    MARAC_ENV=production \
    MARAC_DOCUMENT_STORE=/data/documents
# Run-time libraries WeasyPrint needs (PDF rendering). The PDFs' font ships in
# templates/pdf/assets/fonts/, loaded through fontconfig; fonts-dejavu-core is only the
# fallback for characters Liberation Sans lacks (Arabic, Armenian, ... in a typed name).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b fontconfig fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
# pg_dump and pg_restore for `marac backup` and `marac restore`: Debian 12's client is
# PostgreSQL 15, the same major version as the compose file's server (tests/test_compose.py).
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system marac \
    && useradd --system --gid marac --home-dir /app --no-create-home --shell /usr/sbin/nologin marac \
    && mkdir -p /data/documents \
    && chown marac:marac /data/documents
COPY --from=build /opt/venv /opt/venv
# Code stays root-owned: the service user can read it, never change it.
COPY --from=build /app /app
USER marac
WORKDIR /app
VOLUME ["/data/documents"]
EXPOSE 8000
CMD ["marac", "serve", "--host", "0.0.0.0"]
