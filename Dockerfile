# syntax=docker/dockerfile:1
#
# CatBuy bot: one image for webhook and polling mode (`catbuy-bot` decides
# from WEBHOOK_URL). Configuration comes from the environment (compose
# `env_file:`), never baked into the image.
#
# Health check: GET /healthz on
#   - WEB_SERVER_PORT (default 8080) in webhook mode (WEBHOOK_URL set),
#   - METRICS_PORT in polling mode; with no METRICS_PORT a polling bot serves
#     no HTTP at all and the check passes as long as the process runs.
# Pass these as environment variables (not a mounted .env) so the check sees them.

ARG PYTHON_IMAGE=python:3.11-slim

# --- build: the locked dependencies and the bot's wheel, into a venv ---------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src

# Dependencies first, exactly as locked (versions and hashes), so a code change
# does not reinstall them.
COPY requirements.lock ./
RUN pip install --no-deps --require-hashes -r requirements.lock

# The bot as a wheel: building it compiles locales/*.po into bot/i18n/locales/.
# The venv gets the wheel, not the source, and pip check proves the lock
# satisfies what the wheel declares.
COPY pyproject.toml README.md MANIFEST.in ./
COPY scripts/build_catalogs.py scripts/
COPY bot/ bot/
COPY handlers/ handlers/
COPY locales/ locales/
RUN pip wheel --no-deps --wheel-dir /wheels . \
    && pip install --no-deps --no-index /wheels/catbuy_bot-*.whl \
    && pip check

# --- runtime: the venv alone, slim, non-root ----------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN groupadd --system catbuy \
    && useradd --system --gid catbuy --home-dir /app --no-create-home --shell /usr/sbin/nologin catbuy
# The /stats chart: matplotlib's own DejaVu Sans has Latin and Cyrillic; this small
# font adds the Chinese glyphs (without it, Chinese admins get English chart labels).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*
# An empty working directory: no source here; the bot reads a mounted /app/.env if any.
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
# matplotlib's font list, built once here rather than at the first chart of every
# container (in a directory the bot's user may write, or matplotlib warns and uses
# a temporary one).
ENV MPLCONFIGDIR=/opt/matplotlib
RUN python -c "import matplotlib.font_manager" && chown -R catbuy:catbuy /opt/matplotlib
USER catbuy

# Webhook mode's WEB_SERVER_PORT default; expose METRICS_PORT too if you set it.
EXPOSE 8080

# No curl in the slim image: Python's urllib, with proxies bypassed (an
# operator's HTTPS_PROXY must not swallow a loopback probe).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request as u; port = os.environ.get('WEB_SERVER_PORT', '8080') if os.environ.get('WEBHOOK_URL') else os.environ.get('METRICS_PORT'); port or sys.exit(0); u.build_opener(u.ProxyHandler({})).open(f'http://127.0.0.1:{port}/healthz', timeout=3)"]

# The bot drains in-flight updates on SIGTERM, for max(CATBUY_TIMEOUT_SECONDS,
# 20 s) + 10 s at most (30 s by default): give it a stop timeout of 40 s
# (compose: stop_grace_period: 40s; docker stop -t 40; Kubernetes:
# terminationGracePeriodSeconds: 40). Docker's own default, 10 s, loses paid cards.
STOPSIGNAL SIGTERM
CMD ["catbuy-bot"]
