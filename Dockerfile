FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY gateway ./gateway
COPY workers ./workers
COPY alembic ./alembic
RUN pip install --no-cache-dir -e .
ENV FTGATE_DATA_DIR=/data
EXPOSE 8000
CMD ["ftgate", "serve", "--host", "0.0.0.0", "--port", "8000"]
