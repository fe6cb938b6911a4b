# The bot in one image. Build: `docker build -t faqbot .`
# Run (long polling, SQLite in the volume):
#   docker run --env-file .env -v faqbot-data:/app/data faqbot
# Several instances behind a proxy, on PostgreSQL: see docker-compose.yml and the README's
# "Running in production".
# The Python minor CI tests on (.ci/run's python3); tests/test_packaging.py holds them equal.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WEBHOOK_LISTEN=0.0.0.0 \
    WEBHOOK_PORT=8443

# A user of its own, with no shell and no password; it owns only the data folder.
RUN groupadd --system --gid 10001 faqbot \
    && useradd --system --uid 10001 --gid faqbot --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin faqbot

WORKDIR /app

# The package first: its layer is rebuilt only when the code or its dependencies change.
COPY pyproject.toml README.md constraints.txt ./
COPY bot ./bot
RUN pip install --no-cache-dir -c constraints.txt . \
    && rm -rf bot build faqbot.egg-info constraints.txt

# The FAQ is read from /app/faq (FAQ_DIR); mount another folder there to edit it without
# rebuilding.
COPY faq ./faq
RUN mkdir -p /app/data && chown faqbot:faqbot /app/data

# The numeric id, so that Kubernetes' runAsNonRoot can check it.
USER 10001:10001

# The SQLite database and its generated key live here (DATABASE_URL's default): keep it.
VOLUME ["/app/data"]

# Webhook mode (WEBHOOK_URL set) serves Telegram, /healthz and /metrics on this port.
EXPOSE 8443

# Webhook mode: this instance's /healthz; long polling: the database answers.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "-m", "bot", "health"]

CMD ["python", "-m", "bot", "run"]
