# Targets (`docker build --target NAME`):
#   gateway  gateways, Celery workers and beat that forward to upstreams: no torch (the slim image)
#   trainer  the `local` extra with PyPI's CUDA build of torch: Celery workers on the training queue
#   full     the `local` extra with CPU torch: everything, local models trained and served (default)
# TORCH_INDEX is the extra index torch comes from; e.g. https://download.pytorch.org/whl/cpu for a
# CPU-only trainer.
FROM python:3.11-slim AS source
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY gateway ./gateway
COPY workers ./workers
COPY training ./training
COPY graders ./graders
COPY alembic ./alembic
ENV FTGATE_DATA_DIR=/data
EXPOSE 8000
CMD ["ftgate", "serve", "--host", "0.0.0.0", "--port", "8000"]

FROM source AS gateway
RUN pip install --no-cache-dir -e .

FROM source AS trainer
ARG TORCH_INDEX=https://pypi.org/simple
RUN pip install --no-cache-dir --extra-index-url "$TORCH_INDEX" -e '.[local]'
CMD ["celery", "-A", "workers.celery_app", "worker", "-Q", "ftgate-training", "--concurrency", "1", "--loglevel", "info"]

FROM source AS full
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
RUN pip install --no-cache-dir --extra-index-url "$TORCH_INDEX" -e '.[local]'
