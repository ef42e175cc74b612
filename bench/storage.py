"""Upload and download throughput of the S3 clients that could back the blob store, against an
S3-protocol server started here (moto's, as in the tests), with each client's plain one-request
PUT of the same bytes as the anchor.

    python bench/storage.py           # 200 MiB
    python bench/storage.py 50        # another size, in MiB

Streamed: the file written 1 MiB at a time as an upload arrives (boto3 through ftgate's own
S3BlobWriter, 8 MiB parts; obstore through its open_writer, 8 MiB buffer), so memory holds at
most a part. Plain: the whole file in memory, one PutObject. moto keeps objects in its own
Python process and hashes every part there, so it bounds every figure: compare the columns,
not the absolute numbers, with what a real S3 or MinIO would give.
"""

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import obstore
from obstore.store import S3Store

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from gateway.storage.s3 import S3BlobStore  # noqa: E402
from tests.support.s3 import ACCESS_KEY, REGION, SECRET_KEY, S3Server, moto_server  # noqa: E402

CHUNK = 1024 * 1024
PART = 8 * 1024 * 1024
ROUNDS = 3


def timed(action: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    return best


def boto3_figures(server: S3Server, content: bytes) -> dict[str, float]:
    store = S3BlobStore(server.client(), server.new_bucket(), part_bytes=PART)

    def streamed() -> None:
        writer = store.writer("streamed")
        for start in range(0, len(content), CHUNK):
            writer.write(content[start : start + CHUNK])
        writer.commit()

    def download() -> None:
        with store.open("streamed") as blob:
            while blob.read(CHUNK):
                pass

    return {
        "streamed": timed(streamed),
        "plain": timed(lambda: store.client.put_object(Bucket=store.bucket, Key="plain", Body=content)),
        "download": timed(download),
    }


def obstore_figures(server: S3Server, content: bytes) -> dict[str, float]:
    store = S3Store(
        server.new_bucket(),
        endpoint=server.endpoint_url,
        region=REGION,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
        client_options={"allow_http": True},
    )

    def streamed() -> None:
        with obstore.open_writer(store, "streamed", buffer_size=PART) as writer:
            for start in range(0, len(content), CHUNK):
                writer.write(content[start : start + CHUNK])

    def download() -> None:
        for _ in obstore.get(store, "streamed").stream(min_chunk_size=CHUNK):
            pass

    return {
        "streamed": timed(streamed),
        "plain": timed(lambda: obstore.put(store, "plain", content, use_multipart=False)),
        "download": timed(download),
    }


def main() -> None:
    mib = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    content = os.urandom(mib * 1024 * 1024)
    with moto_server() as server:
        rows = {"boto3": boto3_figures(server, content), "obstore": obstore_figures(server, content)}
    print(f"{mib} MiB against moto {ROUNDS} rounds, best, MiB/s (higher is better)")
    print(f"{'client':<10}{'streamed up':>14}{'plain PUT':>12}{'streamed/plain':>16}{'download':>12}")
    for name, row in rows.items():
        up, plain, down = (mib / row[column] for column in ("streamed", "plain", "download"))
        print(f"{name:<10}{up:>14.1f}{plain:>12.1f}{up / plain:>16.2f}{down:>12.1f}")


if __name__ == "__main__":
    main()
