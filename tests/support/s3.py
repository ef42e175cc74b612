"""A real S3-protocol server for the tests: moto's standalone server, in a child process."""

import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from gateway.storage.s3 import S3BlobStore, s3_client
from tests.support.server import free_port

ACCESS_KEY = "ftgate-test"
SECRET_KEY = "ftgate-test-secret"
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str

    def client(self):  # noqa: ANN201 (botocore builds the client's class at run time)
        return s3_client(
            endpoint_url=self.endpoint_url,
            region=REGION,
            access_key_id=ACCESS_KEY,
            secret_access_key=SECRET_KEY,
        )

    def new_bucket(self) -> str:
        name = f"ftgate-{secrets.token_hex(6)}"
        self.client().create_bucket(Bucket=name)
        return name

    def new_store(self, **options: object) -> S3BlobStore:
        return S3BlobStore(self.client(), self.new_bucket(), **options)  # type: ignore[arg-type]

    def settings(self) -> dict[str, object]:
        """The FTGATE_ settings of a server that keeps its blobs in a new bucket here."""
        return {
            "storage": "s3",
            "s3_bucket": self.new_bucket(),
            "s3_endpoint_url": self.endpoint_url,
            "s3_region": REGION,
            "s3_access_key_id": ACCESS_KEY,
            "s3_secret_access_key": SECRET_KEY,
        }


@contextmanager
def moto_server() -> Iterator[S3Server]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{endpoint}/moto-api/", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the moto S3 server did not start") from None
                time.sleep(0.1)
        yield S3Server(endpoint)
    finally:
        process.terminate()
        process.wait(timeout=10)
