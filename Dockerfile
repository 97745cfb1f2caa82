# citeqa with its models and the seed index baked in. Same install steps as the README:
# scripts/install.sh (what `make install` runs) and scripts/bake.sh (run by the tests).
#   docker build -t citeqa .
#   docker run -p 8000:8000 -e CITEQA_API_TOKEN=change-me citeqa
FROM python:3.11-slim-bookworm

# Compilers for llama-cpp-python (built from source at install); curl for the health check.
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake curl && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 citeqa

WORKDIR /app
COPY --chown=citeqa:citeqa . /app
USER citeqa
ENV PYTHON=python3 \
    CITEQA_EXTRAS=postgres \
    TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu \
    HF_HUB_OFFLINE=1 \
    CITEQA_MODEL_DIR=/app/models \
    CITEQA_UPLOAD_DIR=/app/uploads
RUN sh scripts/install.sh /app/.venv
RUN sh scripts/bake.sh /app/.venv

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 CMD curl -fsS http://127.0.0.1:8000/api/health || exit 1
# Reachable from outside the container, so it refuses to start without CITEQA_API_TOKEN.
CMD ["/app/.venv/bin/citeqa", "serve", "--host", "0.0.0.0", "--port", "8000"]
