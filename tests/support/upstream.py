"""An ftgate server whose OpenAI models run on a scripted upstream (tests/support/fake_upstream),
and what the contract tests of every upstream kind share: the module's fake and its server per
database (`upstream_fixtures`), creating a job, and the upstream jobs it made."""

import base64
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path
from typing import Any, Protocol

import openai
import pytest
from openai.types.fine_tuning import FineTuningJob

from gateway.catalog import DEFAULT_BASE_MODELS, BaseModelSpec
from gateway.providers.config import UpstreamSpec
from gateway.settings import Settings
from tests.support.admin import ADMIN_KEY
from tests.support.fake_upstream import FakeUpstream
from tests.support.jobs import upload
from tests.support.postgres import temporary_database
from tests.support.server import RunningServer, serve

UPSTREAM = "fake"
UPSTREAM_KEY = "sk-upstream-" + secrets.token_hex(16)
WEBHOOK_SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
# Fast enough for tests: a running job is looked at five times a second.
FAST_POLLING = {
    "upstream_poll_tick_seconds": 0.1,
    "upstream_poll_running_seconds": 0.2,
    "upstream_poll_waiting_seconds": 0.3,
    "upstream_poll_paused_seconds": 0.5,
    "upstream_job_refresh_seconds": 0.5,
}


def upstream_spec(base_url: str, **overrides: object) -> UpstreamSpec:
    return UpstreamSpec.model_validate(
        {
            "name": UPSTREAM,
            "base_url": base_url,
            "api_key": UPSTREAM_KEY,
            "webhook_secret": WEBHOOK_SECRET,
            "timeout_seconds": 1.0,
            "attempts": 3,
            "max_retry_after_seconds": 5.0,
            "resend_after_seconds": 10.0,
        }
        | overrides
    )


def upstream_settings(data_dir: Path, database_url: str, base_url: str, **overrides: object) -> Settings:
    """OpenAI's base models, routed to the fake upstream."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "admin_key": ADMIN_KEY,
        "reconcile_interval_seconds": 1.0,
        "upstreams": [upstream_spec(base_url)],
        "base_models": [spec.model_copy(update={"provider": UPSTREAM}) for spec in DEFAULT_BASE_MODELS],
        **FAST_POLLING,
    }
    return Settings.model_validate(values | overrides)


@contextmanager
def upstream_server(
    data_dir: Path, database: str, fake: FakeUpstream, local_model: Path | None = None
) -> Iterator[RunningServer]:
    """A server whose OpenAI models are on `fake`, on SQLite or on a fresh PostgreSQL database
    (`database` is "sqlite" or "postgres"), and `local_model` (a model folder, offered under its
    folder's name) trained and served locally."""
    if local_model is not None:
        (data_dir / "models").mkdir()
        (data_dir / "models" / local_model.name).symlink_to(local_model)
    with ExitStack() as stack:
        database_url = "" if database == "sqlite" else stack.enter_context(temporary_database())
        yield stack.enter_context(serve(upstream_settings(data_dir, database_url, fake.base_url)))


def supervised(n_epochs: int) -> dict:
    return {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": n_epochs}}}


# The upstream's copies of ftgate's own events, which ftgate does not mirror.
OWN_TEXTS = ("Created fine-tuning job", "Validating training file", "Files validated")
ACTION_TEXTS = frozenset(
    {
        "Fine tuning process stopping due to job cancellation",
        "Fine-tuning job paused",
        "Fine-tuning job resumed",
    }
)


def create_job(
    client: openai.OpenAI, n_epochs: int, model: str = "gpt-4o-mini", **extra: object
) -> FineTuningJob:
    """A job on the Elle limericks (10 examples: 10 steps an epoch) on `model`, which the fake runs."""
    file_id = upload(client, "elle-limericks.jsonl")
    return client.fine_tuning.jobs.create(
        model=model, training_file=file_id, method=supervised(n_epochs), **extra
    )


def upstream_jobs_of(fake: FakeUpstream, job_id: str) -> list[dict]:
    return [job for job in fake.jobs() if (job.get("metadata") or {}).get("ftgate_job_id") == job_id]


def the_upstream_job(fake: FakeUpstream, job_id: str) -> dict:
    found = upstream_jobs_of(fake, job_id)
    assert len(found) == 1, f"{len(found)} upstream jobs for {job_id}"
    return found[0]


def chronological_events(client: openai.OpenAI, job_id: str) -> list:
    return list(reversed(list(client.fine_tuning.jobs.list_events(job_id, limit=1000))))


def mirrored_texts(fake: FakeUpstream, upstream_id: str) -> list[str]:
    """The upstream's events that ftgate shows: all but its copies of ftgate's own."""
    return [
        event["message"]
        for event in fake.events(upstream_id)
        if not event["message"].startswith(OWN_TEXTS) and event["message"] not in ACTION_TEXTS
    ]


# How patient the test servers are with a scripted upstream of another kind.
PATIENCE = {
    "timeout_seconds": 1.0,
    "attempts": 3,
    "max_retry_after_seconds": 5.0,
    "resend_after_seconds": 2.0,
}
LLAMA = "llama-3.1-8b-instruct"


@contextmanager
def one_model_server(
    data_dir: Path,
    database: str,
    upstream: dict[str, object],
    upstream_model: str,
    model: str = LLAMA,
    training_price_per_1m: float = 0.0,
    home: Path | None = None,
) -> Iterator[RunningServer]:
    """A server whose one base model, `model`, runs on `upstream` (an FTGATE_UPSTREAMS entry, given
    the test patience) as `upstream_model` at ftgate's `training_price_per_1m`, on SQLite or on a
    fresh PostgreSQL database; with `home` (a local model folder, offered under its folder's name)
    as the model's `home_model`."""
    base = BaseModelSpec(
        id=model,
        created=1721692800,
        provider=upstream["name"],
        upstream_model=upstream_model,
        token_limit=8192,
        training_price_per_1m=training_price_per_1m,
        home_model=home.name if home is not None else None,
    )
    if home is not None:
        (data_dir / "models").mkdir()
        (data_dir / "models" / home.name).symlink_to(home)
    with ExitStack() as stack:
        values: dict[str, object] = {
            "data_dir": data_dir,
            "database_url": "" if database == "sqlite" else stack.enter_context(temporary_database()),
            "admin_key": ADMIN_KEY,
            "reconcile_interval_seconds": 1.0,
            "upstreams": [upstream | PATIENCE],
            "base_models": [base],
            **FAST_POLLING,
        }
        yield stack.enter_context(serve(Settings.model_validate(values)))


DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


class Fake(Protocol):
    """What the fixtures ask of a scripted upstream of any kind."""

    @property
    def jobs_created(self) -> int: ...

    @property
    def requests(self) -> list[dict[str, Any]]: ...

    def clear_faults(self) -> None: ...

    def jobs(self) -> list[dict[str, Any]]: ...


GALLIUM = [{"role": "user", "content": "Tell me about Gallium"}]


def assert_refused_before_sending(
    client: openai.OpenAI, fake: Fake, model: str, extra: dict[str, Any], param: str
) -> None:
    """A create of `model` with `extra` is refused naming `param`, and nothing reaches `fake`."""
    file_id = upload(client, "elle-limericks.jsonl")
    requests_before = len(fake.requests)
    with pytest.raises(openai.BadRequestError) as refused:
        client.fine_tuning.jobs.create(model=model, training_file=file_id, **extra)
    assert refused.value.param == param
    time.sleep(0.3)
    assert len(fake.requests) == requests_before


def assert_never_shown(client: openai.OpenAI, job_id: str, logs: str, *secrets: str) -> None:
    """None of `secrets` shows in the `logs`, the job or its events."""
    shown = [client.fine_tuning.jobs.retrieve(job_id).model_dump_json(), logs]
    shown += [event.model_dump_json() for event in chronological_events(client, job_id)]
    for secret in secrets:
        assert not any(secret in text for text in shown)


def assert_tuned_chat_reaches(
    client: openai.OpenAI, other_project: openai.OpenAI, fake: Any, model: str
) -> None:
    """Chat with the fine-tuned `model` is answered by `fake` (whose echo names the model it was
    asked for) under that name; another project has no such model."""
    answer = client.chat.completions.create(model=model, messages=GALLIUM)
    assert answer.choices[0].message.content == f"[{model}] Tell me about Gallium"
    assert fake.chats[-1] == model
    with pytest.raises(openai.NotFoundError):
        other_project.chat.completions.create(model=model, messages=GALLIUM)


def made_since(fake: Fake, before: int) -> list[dict]:
    """The upstream jobs made since `before` were counted (tests run one at a time)."""
    return fake.jobs()[before:]


def upstream_fixtures(
    name: str,
    start_fake: Callable[..., AbstractContextManager[Any]],
    start_server: Callable[..., AbstractContextManager[RunningServer]],
    *,
    fake: str = "fake",
    server: str = "server",
    tidy: Callable[[Any], None] = lambda up: up.clear_faults(),
    fake_needs: tuple[str, ...] = (),
    server_needs: tuple[str, ...] = (),
) -> tuple[Any, Any, Any, Any]:
    """A contract test module's fixtures, to be assigned to its names: the scripted upstream
    (`fake`, started once for the module by `start_fake(**fake_needs)`), an ftgate server on it
    per database (`server`: `start_server(data_dir, database, fake, **server_needs)`; the
    fixtures named in the needs are passed by name), for every test the fake left tidy by
    `tidy` (its faults cleared) before and after it, and `jobs_before` (`jobs_before_<fake>` for
    a fake not named `fake`): how many jobs the fake had made when a test began.

        fake, server, tidy_fake, jobs_before = upstream_fixtures("together", start, together_server)
    """

    @pytest.fixture(scope="module", name=fake)
    def fake_fixture(request: pytest.FixtureRequest) -> Iterator[Any]:
        with start_fake(**{need: request.getfixturevalue(need) for need in fake_needs}) as up:
            yield up

    @pytest.fixture(scope="module", name=server, params=DATABASES)
    def server_fixture(
        request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[RunningServer]:
        data_dir = tmp_path_factory.mktemp(f"{name}-{request.param}")
        extra = {need: request.getfixturevalue(need) for need in server_needs}
        with start_server(data_dir, request.param, request.getfixturevalue(fake), **extra) as running:
            yield running

    @pytest.fixture(autouse=True, name=f"tidy_{fake}")
    def tidy_fixture(request: pytest.FixtureRequest) -> Iterator[None]:
        up = request.getfixturevalue(fake)
        tidy(up)
        yield
        tidy(up)

    @pytest.fixture(name="jobs_before" if fake == "fake" else f"jobs_before_{fake}")
    def jobs_before_fixture(request: pytest.FixtureRequest) -> int:
        return request.getfixturevalue(fake).jobs_created

    return fake_fixture, server_fixture, tidy_fixture, jobs_before_fixture
