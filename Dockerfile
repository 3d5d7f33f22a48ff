# syntax=docker/dockerfile:1
#
# CatBuy bot: one image for webhook and polling mode (`python -m bot` decides
# from WEBHOOK_URL). Configuration comes from the environment (compose
# `env_file:`), never baked into the image.
#
# Health check: GET /healthz on
#   - WEB_SERVER_PORT (default 8080) in webhook mode (WEBHOOK_URL set),
#   - METRICS_PORT in polling mode; with no METRICS_PORT a polling bot serves
#     no HTTP at all and the check passes as long as the process runs.
# Pass these as environment variables (not a mounted .env) so the check sees them.

ARG PYTHON_IMAGE=python:3.11-slim

# --- build: dependencies into a venv, gettext catalogs compiled -------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app

# Dependencies first, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir -p bot handlers && touch bot/__init__.py handlers/__init__.py \
    && pip install . && pip uninstall -y catbuy-bot

COPY bot/ bot/
COPY handlers/ handlers/
COPY locales/ locales/
# Editable: bot/i18n.py finds the catalogs at <source root>/locales, so the
# code must run from /app, not from a copy in site-packages.
RUN pip install --no-deps -e . \
    && pybabel compile -d locales -D messages \
    && python -m compileall -q bot handlers

# --- runtime: slim, non-root ------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN groupadd --system catbuy \
    && useradd --system --gid catbuy --home-dir /app --no-create-home --shell /usr/sbin/nologin catbuy
# The /stats chart: matplotlib's own DejaVu Sans has Latin and Cyrillic; this small
# font adds the Chinese glyphs (without it, Chinese admins get English chart labels).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app/pyproject.toml /app/README.md ./
COPY --from=build /app/bot bot/
COPY --from=build /app/handlers handlers/
COPY --from=build /app/locales locales/
# matplotlib's font list, built once here rather than at every start (in a
# directory the bot's user may write, or matplotlib warns and uses a temp dir).
ENV MPLCONFIGDIR=/opt/matplotlib
RUN python -c "import matplotlib.font_manager" && chown -R catbuy:catbuy /opt/matplotlib
USER catbuy

# Webhook mode's WEB_SERVER_PORT default; expose METRICS_PORT too if you set it.
EXPOSE 8080

# No curl in the slim image: Python's urllib, with proxies bypassed (an
# operator's HTTPS_PROXY must not swallow a loopback probe).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request as u; port = os.environ.get('WEB_SERVER_PORT', '8080') if os.environ.get('WEBHOOK_URL') else os.environ.get('METRICS_PORT'); port or sys.exit(0); u.build_opener(u.ProxyHandler({})).open(f'http://127.0.0.1:{port}/healthz', timeout=3)"]

# The bot drains in-flight updates on SIGTERM (up to ~20 s): give it a
# stop timeout above that (compose: stop_grace_period).
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot"]
