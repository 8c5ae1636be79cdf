# syntax=docker/dockerfile:1
#
# Gatehouse API image: `gatehouse serve` by default; the same image runs `gatehouse migrate`,
# `gatehouse worker`, `gatehouse create-admin` and `gatehouse keys rotate`.
# The image never contains the "embedded" extra: a container is always given
# GATEHOUSE_DATABASE_URL and GATEHOUSE_REDIS_URL (see compose.yaml and docs/configuration.md).

# Both stages start from the same python:3.11-slim, pinned by the digest of its multi-platform
# index (Python 3.11.16 on Debian trixie, built 2026-08-25; docs/deployment.md says where the
# digest comes from), so that a build is repeatable and a changed base is a reviewed change:
# Dependabot proposes each new digest (.github/dependabot.yml).

# ---------------------------------------------------------------- build: a virtualenv from uv.lock
FROM python:3.11-slim@sha256:3c1dfceb3f1267d4d378e7883cddf35c58757bab98d70bba30b6e02e808fa21d AS builder

# Keep in step with UV_VERSION in the Makefile.
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /bin/uv

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv

WORKDIR /app

# Dependencies first, from the lock file alone: this layer is rebuilt only when the lock changes.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-dev --no-install-project --no-editable

# Then the project itself, installed as a regular (non-editable) package into the virtualenv,
# so the runtime stage needs no source tree. README.md is part of the package metadata.
COPY pyproject.toml uv.lock README.md alembic.ini ./
COPY alembic ./alembic
COPY src ./src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable

# ---------------------------------------------------------------- runtime
FROM python:3.11-slim@sha256:3c1dfceb3f1267d4d378e7883cddf35c58757bab98d70bba30b6e02e808fa21d AS runtime

# A fixed, unprivileged user. /keys (signing keys) and /data are the only writable places;
# an empty named volume mounted on /keys takes this ownership on first use.
RUN groupadd --system --gid 10001 gatehouse \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin gatehouse \
 && mkdir -p /keys /data \
 && chown 10001:10001 /keys /data \
 && chmod 0700 /keys /data

WORKDIR /app
# `gatehouse migrate` reads alembic.ini from the working directory.
COPY --from=builder /app/.venv /app/.venv
COPY --from=builder /app/alembic.ini /app/alembic.ini
COPY --from=builder /app/alembic /app/alembic

ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GATEHOUSE_ENV=production \
    GATEHOUSE_HOST=0.0.0.0 \
    GATEHOUSE_PORT=8000 \
    GATEHOUSE_KEYS_DIR=/keys \
    GATEHOUSE_DATA_DIR=/data

USER 10001:10001
EXPOSE 8000

# No curl in the slim image: the standard library does the probe. Non-2xx or no answer = unhealthy.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health/live' % os.environ.get('GATEHOUSE_PORT', '8000'), timeout=3)"]

CMD ["gatehouse", "serve"]
