"""Fireworks' endpoints for fine-tuning under /v1/accounts/{account}: datasets, supervised
fine-tuning jobs (paged with `pageToken`) and DPO jobs, the signed metrics files, and chat at
/inference/v1."""

import base64
import json
import re
from typing import Any

from tests.support.fake_upstream.api import Api as OpenAIApi
from tests.support.fake_upstream.errors import ApiError
from tests.support.fake_upstream.server import Request, Response, Routes

from .errors import RpcError
from .lifecycle import Fireworks, Job

ACCOUNT = r"/v1/accounts/(?P<account>[a-z0-9-]+)"
DATASET = ACCOUNT + r"/datasets/(?P<dataset_id>[a-z0-9-]+)"
JOBS = ACCOUNT + r"/(?P<collection>supervisedFineTuningJobs|dpoJobs)"
JOB = JOBS + r"/(?P<job_id>[a-z0-9-]+)"
ID_PARAMS = {"supervisedFineTuningJobs": "supervisedFineTuningJobId", "dpoJobs": "dpoJobId"}


class FireworksApi:
    def __init__(self, fireworks: Fireworks, api_key: str, account: str) -> None:
        self.fireworks = fireworks
        self.api_key = api_key
        self.account = account
        # OpenAI's chat answers, which Fireworks' inference API shares.
        self.openai = OpenAIApi(fireworks, api_key)  # type: ignore[arg-type]
        self.routes = Routes(
            [
                ("POST", ACCOUNT + "/datasets", self.create_dataset),
                ("GET", DATASET, self.get_dataset),
                ("POST", DATASET + ":upload", self.upload),
                ("POST", DATASET + ":validateUpload", self.validate),
                ("POST", JOBS, self.create_job),
                ("GET", JOBS, self.list_jobs),
                ("GET", JOB, self.get_job),
                ("POST", JOB + ":cancel", self.cancel),
                ("POST", "/inference/v1/chat/completions", self.chat),
            ]
        )

    def handle(self, request: Request) -> Response:
        try:
            if request.method == "GET" and (
                match := re.fullmatch(r"/signed/metrics/(.+)\.jsonl", request.path)
            ):
                return self.metrics_file(match.group(1))
            if request.headers.get("authorization") != f"Bearer {self.api_key}":
                raise RpcError(401, "The API key is missing or invalid.")
            found = self.routes.find(request)
            if found is None:
                raise RpcError(404, f"No route for {request.method} {request.path}")
            endpoint, named = found
            if named.pop("account", self.account) != self.account:
                raise RpcError(403, "The API key cannot reach this account.")
            return endpoint(request, **named)
        except RpcError as error:
            return error.response()

    def create_dataset(self, request: Request) -> Response:
        return Response(200, self.fireworks.create_dataset(self.account, request.json()))

    def get_dataset(self, request: Request, dataset_id: str) -> Response:
        return Response(200, self.fireworks.dataset(dataset_id, self.account).data)

    def upload(self, request: Request, dataset_id: str) -> Response:
        form = request.form()
        if "file" not in form:
            raise RpcError(400, "A multipart field 'file' is required.")
        return Response(200, self.fireworks.upload(dataset_id, form["file"][1]))

    def validate(self, request: Request, dataset_id: str) -> Response:
        return Response(200, self.fireworks.validate(dataset_id))

    def create_job(self, request: Request, collection: str) -> Response:
        job_id = request.query.get(ID_PARAMS[collection])
        job = self.fireworks.create_job(self.account, job_id, request.json(), collection)
        return Response(200, self.public(job, request))

    def list_jobs(self, request: Request, collection: str) -> Response:
        size = int(request.query.get("pageSize") or 50)
        token = request.query.get("pageToken") or ""
        start = int(base64.urlsafe_b64decode(token).decode()) if token else 0
        jobs = [job for job in self.fireworks.jobs.values() if job.collection == collection]
        listed = [self.public(job, request) for job in jobs[start : start + size]]
        more = start + size < len(jobs)
        next_token = base64.urlsafe_b64encode(str(start + size).encode()).decode() if more else ""
        return Response(200, {collection: listed, "nextPageToken": next_token, "totalSize": len(jobs)})

    def get_job(self, request: Request, collection: str, job_id: str) -> Response:
        return Response(200, self.public(self.fireworks.job(job_id, self.account, collection), request))

    def cancel(self, request: Request, collection: str, job_id: str) -> Response:
        self.fireworks.cancel(job_id, collection)
        return Response(200, {})

    def metrics_file(self, job_id: str) -> Response:
        job = self.fireworks.jobs.get(job_id)
        if job is None:
            return Response(404, content=b"NoSuchKey", content_type="application/xml")
        lines = "".join(json.dumps(row) + "\n" for row in job.metrics)
        return Response(200, content=lines.encode(), content_type="application/jsonl")

    def chat(self, request: Request) -> Response:
        """Answers for base models and completed output models; other models of the account are
        not there (yet)."""
        model = OpenAIApi.body(request).get("model")
        own = f"accounts/{self.account}/models/"
        if isinstance(model, str) and model.startswith(own) and model not in self.fireworks.models:
            raise_model = RpcError(404, f"Model not found, inaccessible, and/or not deployed: {model}")
            return raise_model.response()
        self.fireworks.chats.append(str(model))
        try:
            return self.openai.chat(request)
        except ApiError as error:
            return error.response()

    @staticmethod
    def public(job: Job, request: Request) -> dict[str, Any]:
        """The job as Fireworks shows it: the signed URL absolute, on this server."""
        data = dict(job.data)
        if data.get("metricsFileSignedUrl"):
            data["metricsFileSignedUrl"] = (
                f"http://{request.headers.get('host')}{data['metricsFileSignedUrl']}"
            )
        return data
