# Targets (`docker build --target NAME`):
#   gateway  gateways, Celery workers and beat that forward to upstreams: no torch (the slim image)
#   trainer  the `local` extra with PyPI's CUDA build of torch: Celery workers on the training queue
#   full     the `local` extra with CPU torch: everything, local models trained and served (default)
# TORCH_INDEX is the extra index torch comes from; e.g. https://download.pytorch.org/whl/cpu for a
# CPU-only trainer.
# Each target installs the dependencies pyproject.toml pins before it copies the source, so a
# change to the code rebuilds only its last two layers. BuildKit builds only the stages a target
# needs; the legacy builder builds every stage above it (`full` builds `trainer` first, with the
# same TORCH_INDEX).
FROM python:3.11-slim AS base
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FTGATE_DATA_DIR=/data
# The processes run as ftgate (uid 10001), which owns /data: a named volume mounted there starts
# owned by it.
RUN useradd --create-home --uid 10001 --user-group ftgate \
    && mkdir /data && chown ftgate:ftgate /data
WORKDIR /app
COPY pyproject.toml ./
RUN python -c "import tomllib; project = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
print(*project['dependencies'], sep='\n', file=open('/tmp/requirements.txt', 'w')); \
print(*project['optional-dependencies']['local'], sep='\n', file=open('/tmp/requirements-local.txt', 'w'))"
EXPOSE 8000
CMD ["ftgate", "serve", "--host", "0.0.0.0", "--port", "8000"]

FROM base AS gateway
RUN pip install -r /tmp/requirements.txt
# The .dockerignore lets through only what the package needs: pyproject.toml, README.md, alembic.ini,
# alembic/ (the migrations, found next to gateway/: hence the editable install), the packages and
# models-requirements.txt. The bytecode is compiled here: ftgate, not root, runs the processes.
COPY . .
RUN pip install --no-deps -e . && python -m compileall -q gateway workers training graders alembic \
    && ftgate --help >/dev/null
USER ftgate

FROM base AS trainer
ARG TORCH_INDEX=https://pypi.org/simple
RUN pip install --extra-index-url "$TORCH_INDEX" -r /tmp/requirements.txt -r /tmp/requirements-local.txt
COPY . .
RUN pip install --no-deps -e . && python -m compileall -q gateway workers training graders alembic \
    && ftgate --help >/dev/null
USER ftgate
CMD ["celery", "-A", "workers.celery_app", "worker", "-Q", "ftgate-training", "--concurrency", "1", "--loglevel", "info"]

FROM base AS full
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
# pip takes PyPI's CUDA torch, 4 GB more, when TORCH_INDEX does not answer: fail rather than ship it.
RUN pip install --extra-index-url "$TORCH_INDEX" -r /tmp/requirements.txt -r /tmp/requirements-local.txt \
    && python -c "import sys, torch; sys.exit(torch.version.cuda and f'full: torch {torch.__version__} \
is a CUDA build ($TORCH_INDEX gave no CPU torch); build --target trainer for CUDA')"
COPY . .
RUN pip install --no-deps -e . && python -m compileall -q gateway workers training graders alembic \
    && ftgate --help >/dev/null
USER ftgate
