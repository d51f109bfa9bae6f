# One image for both services: `python worker.py` (default) and `python -m bot` (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY . .
# worker.py imports workflows/ from here (PYTHONDONTWRITEBYTECODE is set, and the user cannot write here): the
# sandbox re-imports those modules for every child, so their bytecode is compiled now (runtime.worker.cache_bytecode).
RUN pip install . \
    && python -m compileall -q workflows \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin fanout

USER fanout
# 3000: the bot (HTTP mode: Slack events and slash commands; both modes: GET /healthz).
# 9464: the worker's Prometheus metrics when FANOUT_METRICS_PORT=9464 (docker-compose sets it).
EXPOSE 3000 9464
CMD ["python", "worker.py"]
