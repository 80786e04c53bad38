"""A local S3-compatible server for the s3 artifact store's tests: moto's server (the `moto`
package's stand-in for AWS S3, speaking its HTTP API, keeping objects in memory), run as a
process of its own on a free port and stopped after. It stands in for S3; it is not S3."""

import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

from models.store.s3 import S3Store
from tests.helpers import poll
from tests.private_servers import free_port

REGION = "us-east-1"
# moto accepts any credentials; obstore signs every request with these.
CREDENTIALS = {"FITQ_S3_ACCESS_KEY_ID": "fitq-test", "FITQ_S3_SECRET_ACCESS_KEY": "fitq-test"}


class MotoS3:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(tempfile.mkstemp(prefix="fitq-moto-", suffix=".log")[1])
        argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        with self.log.open("ab") as log:
            self._proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        poll(self._answers, bool, timeout=60, every=0.1)

    def _answers(self) -> bool:
        assert self._proc.poll() is None, self.log.read_text(errors="replace")[-2000:]
        try:
            return httpx.get(self.url, timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def new_bucket(self) -> str:
        """An empty bucket of its own (moto takes an unsigned CreateBucket)."""
        name = f"fitq-{uuid.uuid4().hex[:12]}"
        response = httpx.put(f"{self.url}/{name}", timeout=10)
        assert response.status_code == 200, response.text
        return name

    def settings(self, bucket: str) -> dict[str, str]:
        """FITQ_* variables of an s3 artifact store on this server."""
        return {
            "FITQ_ARTIFACT_STORE": "s3",
            "FITQ_S3_BUCKET": bucket,
            "FITQ_S3_ENDPOINT": self.url,
            "FITQ_S3_REGION": REGION,
            **CREDENTIALS,
        }

    def store(self, bucket: str) -> S3Store:
        secret = CREDENTIALS["FITQ_S3_SECRET_ACCESS_KEY"]
        return S3Store(bucket, self.url, REGION, CREDENTIALS["FITQ_S3_ACCESS_KEY_ID"], secret)

    def close(self) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=10)
        self.log.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
