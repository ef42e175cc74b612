FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY gateway ./gateway
COPY workers ./workers
COPY training ./training
COPY alembic ./alembic
# TORCH_INDEX=https://download.pytorch.org/whl/cpu builds a CPU-only image; the default index
# gives PyPI's CUDA build of the pinned torch, for GPU trainers.
ARG TORCH_INDEX=https://pypi.org/simple
RUN pip install --no-cache-dir --extra-index-url "$TORCH_INDEX" -e .
ENV FTGATE_DATA_DIR=/data
EXPOSE 8000
CMD ["ftgate", "serve", "--host", "0.0.0.0", "--port", "8000"]
