# One image for both services: `python worker.py` (default) and `python -m bot` (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY . .
RUN pip install . \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin fanout

USER fanout
# HTTP mode (Slack events and slash commands); Socket Mode needs no inbound port.
EXPOSE 3000
CMD ["python", "worker.py"]
