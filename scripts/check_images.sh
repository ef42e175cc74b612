#!/usr/bin/env bash
# Build the Dockerfile's targets and smoke-test the first one: `ftgate migrate`, a gateway (uvicorn,
# two workers) and a Celery worker, each a container on the host's network, against the PostgreSQL,
# Redis and S3 bucket given; then, from the host with the openai SDK: a key, a file, a chunked
# upload, the files list, the bytes in the bucket, /healthz, /readyz and /metrics. On the other
# targets it imports torch, transformers and peft. The containers are removed at the end.
#
#   FTGATE_DATABASE_URL=postgresql://USER@HOST:5432/DB  (an empty database)
#   FTGATE_REDIS_URL=redis://HOST:6379/N
#   FTGATE_S3_ENDPOINT_URL=http://HOST:PORT FTGATE_S3_BUCKET=NAME (it must exist)
#   FTGATE_S3_ACCESS_KEY_ID=... FTGATE_S3_SECRET_ACCESS_KEY=... [FTGATE_S3_REGION=us-east-1]
#   [PORT=8900] [PYTHON=.venv/bin/python (with openai and boto3: the dev extra)]
#   [DOCKER_BUILD_ARGS="--build-arg TORCH_INDEX=..."]
#   scripts/check_images.sh [TARGET ...]      # default: gateway
set -euo pipefail
cd "$(dirname "$0")/.."
: "${FTGATE_DATABASE_URL:?}" "${FTGATE_REDIS_URL:?}" "${FTGATE_S3_ENDPOINT_URL:?}" "${FTGATE_S3_BUCKET:?}"
: "${FTGATE_S3_ACCESS_KEY_ID:?}" "${FTGATE_S3_SECRET_ACCESS_KEY:?}"
PORT=${PORT:-8900}
PYTHON=${PYTHON:-.venv/bin/python}
targets=("${@:-gateway}")
run=ftgate-check-$$

for target in "${targets[@]}"; do
  start=$SECONDS
  # shellcheck disable=SC2086
  docker build ${DOCKER_BUILD_ARGS:-} --target "$target" -t "ftgate:$target" .
  echo "built ftgate:$target in $((SECONDS - start)) s: $(docker image ls --format '{{.Size}}' "ftgate:$target")"
done
for target in "${targets[@]:1}"; do
  docker run --rm "ftgate:$target" python -c \
    'import torch, transformers, peft; print("torch", torch.__version__, "cuda", torch.version.cuda)'
done

image=ftgate:${targets[0]}
env_file=$(mktemp)
metrics_port=$((PORT + 1))
cleanup() { docker rm -f "$run-gateway" "$run-worker" >/dev/null 2>&1 || true; rm -f "$env_file"; }
trap cleanup EXIT
cat >"$env_file" <<EOF
FTGATE_DATABASE_URL=$FTGATE_DATABASE_URL
FTGATE_REDIS_URL=$FTGATE_REDIS_URL
FTGATE_QUEUE=celery
FTGATE_RATE_LIMITER=redis
FTGATE_STORAGE=s3
FTGATE_S3_BUCKET=$FTGATE_S3_BUCKET
FTGATE_S3_ENDPOINT_URL=$FTGATE_S3_ENDPOINT_URL
FTGATE_S3_REGION=${FTGATE_S3_REGION:-us-east-1}
FTGATE_S3_ACCESS_KEY_ID=$FTGATE_S3_ACCESS_KEY_ID
FTGATE_S3_SECRET_ACCESS_KEY=$FTGATE_S3_SECRET_ACCESS_KEY
EOF
docker run --rm --network host --env-file "$env_file" "$image" ftgate migrate
metrics=(--env-file "$env_file" -e PROMETHEUS_MULTIPROC_DIR=/run/ftgate-metrics --tmpfs /run/ftgate-metrics)
docker run -d --name "$run-gateway" --network host "${metrics[@]}" "$image" \
  uvicorn --factory gateway.main:build_app --host 127.0.0.1 --port "$PORT" --workers 2 >/dev/null
docker run -d --name "$run-worker" --network host "${metrics[@]}" -e FTGATE_WORKER_METRICS_PORT="$metrics_port" \
  "$image" celery -A workers.celery_app worker -Q ftgate --concurrency 2 --loglevel info >/dev/null
for _ in $(seq 60); do
  curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  sleep 1
done
curl -fsS "http://127.0.0.1:$PORT/healthz" && echo
curl -fsS "http://127.0.0.1:$PORT/readyz" && echo
key=$(docker exec "$run-gateway" ftgate keys create --project image-check 2>/dev/null | grep -o 'sk-ftg-[A-Za-z0-9_-]*')

"$PYTHON" - "$key" "http://127.0.0.1:$PORT" <<'EOF'
import io, json, os, sys, tempfile, time

import boto3
import openai

key, base = sys.argv[1:3]
client = openai.OpenAI(api_key=key, base_url=base + "/v1")
rows = [
    {"messages": [{"role": "user", "content": f"Say {i}."}, {"role": "assistant", "content": str(i)}]}
    for i in range(12)
]
data = "".join(json.dumps(row) + "\n" for row in rows).encode()
first = client.files.create(file=("train.jsonl", io.BytesIO(data)), purpose="fine-tune")
with tempfile.NamedTemporaryFile(suffix=".jsonl") as out:
    out.write(data * 50)
    out.flush()
    upload = client.uploads.upload_file_chunked(
        file=out.name, mime_type="application/jsonl", purpose="fine-tune", part_size=16 * 1024
    )
second = upload.file
for file_id in (first.id, second.id):
    for _ in range(60):
        status = client.files.retrieve(file_id).status
        if status != "uploaded":
            break
        time.sleep(0.5)
    assert status == "processed", (file_id, status)
listed = {f.id for f in client.files.list()}
assert {first.id, second.id} <= listed, listed
assert client.files.content(first.id).read() == data
s3 = boto3.client(
    "s3",
    endpoint_url=os.environ["FTGATE_S3_ENDPOINT_URL"],
    region_name=os.environ.get("FTGATE_S3_REGION", "us-east-1"),
    aws_access_key_id=os.environ["FTGATE_S3_ACCESS_KEY_ID"],
    aws_secret_access_key=os.environ["FTGATE_S3_SECRET_ACCESS_KEY"],
)
bucket = os.environ["FTGATE_S3_BUCKET"]
stored = [
    s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
    for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])
]
assert data in stored and data * 50 in stored, "the files' bytes are not in the bucket"
print(f"files.create {first.id} and uploads {upload.id} -> {second.id}: processed, listed, in the bucket")
EOF

curl -fsS "http://127.0.0.1:$PORT/metrics" | grep '^ftgate_http_request_duration_seconds_count' >/dev/null
curl -fsS -o /dev/null "http://127.0.0.1:$metrics_port/metrics"
echo "metrics: the gateway's /metrics and the worker's :$metrics_port answer"
echo "image check passed: $image"
