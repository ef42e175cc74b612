"""Together's /v1 endpoints for fine-tuning: files, jobs, price estimates, events, checkpoints,
metrics, chat."""

from tests.support.fake_upstream.api import Api as OpenAIApi
from tests.support.fake_upstream.errors import ApiError
from tests.support.fake_upstream.server import Request, Response, Routes

from .lifecycle import ACCOUNT, Together

JOB = r"/v1/fine-tunes/(?P<job_id>ft-[^/]+)"
FILE_TYPES = frozenset({"jsonl", "csv", "parquet"})
CHECKPOINT_KINDS = frozenset({"merged", "adapter", "model_output_path"})
# Where downloads are redirected: presigned URLs, which need no key.
SIGNED = "/signed/"


class TogetherApi:
    def __init__(self, together: Together, api_key: str) -> None:
        self.together = together
        # OpenAI's chat answers and key check, which Together's chat shares.
        self.openai = OpenAIApi(together, api_key)
        self.routes = Routes(
            [
                ("POST", "/v1/files/upload", self.upload),
                ("GET", r"/v1/files/(?P<file_id>[^/]+)/content", self.file_content),
                ("POST", "/v1/fine-tunes", self.create_job),
                ("POST", "/v1/fine-tunes/estimate-price", self.estimate_price),
                ("GET", "/v1/fine-tunes", self.list_jobs),
                ("GET", JOB, self.get_job),
                ("GET", JOB + "/events", self.events),
                ("GET", JOB + "/checkpoints", self.checkpoints),
                ("GET", JOB + "/metrics", self.metrics),
                ("POST", JOB + "/cancel", self.cancel),
                ("POST", "/v1/chat/completions", self.chat),
                ("GET", "/v1/finetune/download", self.download),
            ]
        )

    def handle(self, request: Request) -> Response:
        if request.path.startswith(SIGNED):
            return self.signed(request)
        try:
            self.openai.authenticate(request)
            return self.openai.dispatch(self.routes, request)
        except ApiError as error:
            return error.response()

    def upload(self, request: Request) -> Response:
        form = request.form()
        for name in ("file", "purpose", "file_name"):
            if name not in form:
                raise ApiError(400, f"Missing required field: '{name}'.", param=name)
        file_type = form["file_type"][1].decode() if "file_type" in form else "jsonl"
        if file_type not in FILE_TYPES:
            raise ApiError(400, f"Unsupported file_type: {file_type}", param="file_type")
        info = self.together.upload(
            form["file_name"][1].decode(), form["purpose"][1].decode(), file_type, form["file"][1]
        )
        return Response(200, info)

    def file_content(self, request: Request, file_id: str) -> Response:
        if file_id not in self.together.files:
            raise ApiError(404, f"File {file_id} not found")
        return Response(
            200, content=self.together.files[file_id].content, content_type="application/octet-stream"
        )

    def create_job(self, request: Request) -> Response:
        return Response(200, self.together.create_job(OpenAIApi.body(request)).data)

    def estimate_price(self, request: Request) -> Response:
        return Response(200, self.together.estimate_price(OpenAIApi.body(request)))

    def list_jobs(self, request: Request) -> Response:
        return Response(200, {"data": [job.data for job in self.together.jobs.values()]})

    def get_job(self, request: Request, job_id: str) -> Response:
        job = self.together.job(job_id)
        return Response(200, job.data | {"events": job.events})

    def events(self, request: Request, job_id: str) -> Response:
        return Response(200, {"data": self.together.job(job_id).events})

    def checkpoints(self, request: Request, job_id: str) -> Response:
        return Response(200, {"data": self.together.job(job_id).checkpoints[::-1]})

    def metrics(self, request: Request, job_id: str) -> Response:
        return Response(200, {"data": self.together.job(job_id).metrics})

    def cancel(self, request: Request, job_id: str) -> Response:
        return Response(200, self.together.cancel(job_id).data)

    def chat(self, request: Request) -> Response:
        """Answers for base models and completed output models; other models of the account are
        not there (yet)."""
        model = OpenAIApi.body(request).get("model")
        if isinstance(model, str) and model.startswith(f"{ACCOUNT}/") and model not in self.together.models:
            raise ApiError(404, f"Unable to access model {model}.", param="model", code="model_not_available")
        self.together.chats.append(str(model))
        return self.openai.chat(request)

    def download(self, request: Request) -> Response:
        """A completed job's adapter archive, by a redirect to a presigned URL."""
        job = self.together.job(request.query.get("ft_id", ""))
        kind = request.query.get("checkpoint", "merged")
        if kind not in CHECKPOINT_KINDS:
            raise ApiError(400, f"Invalid checkpoint type: {kind}", param="checkpoint")
        if job.status != "completed":
            raise ApiError(400, f"Fine-tune job {job.id} is not completed; it is {job.status}.")
        if kind != "adapter" or self.together.adapter_archive is None:
            raise ApiError(404, f"No {kind} weights for {job.id}.")
        return Response(302, headers={"location": f"{SIGNED}{job.id}/adapter.tar.zst?X-Amz-Signature=fake"})

    def signed(self, request: Request) -> Response:
        archive = self.together.adapter_archive
        if archive is None or request.query.get("X-Amz-Signature") != "fake":
            return Response(
                403, content=b"<Error><Code>AccessDenied</Code></Error>", content_type="application/xml"
            )
        self.together.downloads += 1
        return Response(200, content=archive, content_type="application/octet-stream")
