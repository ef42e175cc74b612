"""No user input produces a 5xx, a hang, or an error body outside OpenAI's envelope.

Property-based: hypothesis throws arbitrary JSON, query strings, path ids and multipart forms at
a real server (both database backends) with raw httpx2 requests, since the SDK would refuse much
of this client-side. Every response must be below 500, carry `x-request-id`, have a JSON body,
and when it is an error, be exactly `{"error": {"message", "type", "param", "code"}}`; a success
must match the spec schema of its route. One project per test function, not per example.
"""

import json
import os
import re
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, quote_from_bytes

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.jobs import chat_lines
from tests.support.server import RunningServer
from tests.support.spec import assert_matches_schema
from tests.support.wire import schema_for

FUZZ = settings(
    max_examples=int(os.environ.get("FTGATE_FUZZ_EXAMPLES", "60")),  # raise it for a deeper hunt
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FEW = settings(FUZZ, max_examples=max(1, FUZZ.max_examples // 2))

# ---------------------------------------------------------------------------------------------
# The response contract
# ---------------------------------------------------------------------------------------------

ERROR_KEYS = {"message", "type", "param", "code"}
CONTENT_ROUTE = re.compile(r"/v1/files/[^/]+/content")


def describe(response: httpx2.Response) -> str:
    request = response.request
    body = response.content[:400]
    sent = getattr(request, "_content", b"")[:300]  # multipart bodies stream and are not kept
    return f"{request.method} {request.url} -> {response.status_code} {body!r} (sent {sent!r})"


def check(response: httpx2.Response) -> httpx2.Response:
    """The contract every response meets, whatever the request was."""
    where = describe(response)
    status = response.status_code
    assert status < 500, f"server error: {where}"
    assert response.headers.get("x-request-id", "").startswith("req_"), f"no x-request-id: {where}"
    if status in (307, 308):
        # Starlette's redirect of `/v1/files/` to `/v1/files`: no body, not an error.
        assert response.request.url.path.endswith("/"), f"unexpected redirect: {where}"
        assert response.headers.get("location"), where
        return response
    path = response.request.url.path
    if response.request.method == "HEAD":
        return response  # no body, by definition
    if status < 300 and response.request.method == "GET" and CONTENT_ROUTE.fullmatch(path):
        return response  # a file's raw bytes
    assert response.headers.get("content-type", "").startswith("application/json"), f"not JSON: {where}"
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"body is not JSON: {where}") from None
    if status >= 400:
        assert isinstance(body, dict) and set(body) == {"error"}, f"not an envelope: {where}"
        error = body["error"]
        assert isinstance(error, dict) and set(error) == ERROR_KEYS, f"not an envelope: {where}"
        assert isinstance(error["message"], str) and error["message"], where
        assert isinstance(error["type"], str) and error["type"], where
        assert error["param"] is None or isinstance(error["param"], str), where
        assert error["code"] is None or isinstance(error["code"], str), where
    else:
        schema = schema_for(response.request.method, path, status)
        if schema is not None:
            try:
                assert_matches_schema(body, schema)
            except AssertionError as mismatch:
                raise AssertionError(f"{mismatch}\n{where}") from None
    return response


@pytest.fixture
def api(server: RunningServer) -> Iterator[httpx2.Client]:
    """Raw HTTP as one new project; every response is checked before the test sees it."""
    key = server.create_key(f"fuzz-{secrets.token_hex(4)}")
    with httpx2.Client(
        base_url=server.base_url,
        headers={"authorization": f"Bearer {key}"},
        timeout=20,
        follow_redirects=False,
        event_hooks={"response": [lambda r: (r.read(), check(r))]},
    ) as client:
        yield client


def upload(api: httpx2.Client, content: bytes, purpose: str = "fine-tune", name: str = "t.jsonl") -> str:
    response = api.post("/v1/files", files={"file": (name, content)}, data={"purpose": purpose})
    assert response.status_code == 200, describe(response)
    return response.json()["id"]


@pytest.fixture
def training_file(api: httpx2.Client) -> str:
    return upload(api, chat_lines(12))


@pytest.fixture
def job_id(api: httpx2.Client, training_file: str) -> str:
    """A job with metadata, so list filters are evaluated against a real row."""
    response = api.post(
        "/v1/fine_tuning/jobs",
        json={"model": "gpt-4o-mini", "training_file": training_file, "metadata": {"team": "a", "k": "v"}},
    )
    assert response.status_code == 200, describe(response)
    return response.json()["id"]


# ---------------------------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------------------------

REAL_FILE = "\ue000real-file\ue000"  # replaced by the test's uploaded training file id
REAL_JOB = "\ue000real-job\ue000"

odd_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "a\x00b",
            "\u2028",
            "\ufeff",
            "é",
            "日本語",
            "🙂",
            "%",
            "%00",
            "%2F",
            "..",
            ".",
            "/",
            "a/b",
            "a:b",
            "\\",
            '"',
            "'",
            "[",
            "]",
            "{}",
            "null",
            "auto",
            "-1",
            "0",
            "1e309",
            "99999999999999999999999999999999",
            "NaN",
            "Infinity",
            "true",
            "ft:gpt-4o-mini:org::abc",
            "gpt-4o-mini",
            "file-" + "A" * 22,
            "ftjob-" + "A" * 24,
            "x" * 300,
        ]
    ),
)
huge_int = st.one_of(
    st.integers(),
    st.sampled_from([0, -1, 2**31 - 1, 2**31, 2**53 + 1, 2**63, -(2**63) - 1, 10**40, 10**400]),
)
json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    huge_int,
    st.floats(),  # NaN and +-Infinity are sent as Python's json writes them
    odd_text,
)


def json_values(leaves: st.SearchStrategy[Any] = json_scalar, max_leaves: int = 10) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves,
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(
                st.text(max_size=12) | st.sampled_from(["type", "wandb", "auto"]), children, max_size=4
            )
        ),
        max_leaves=max_leaves,
    )


anything = json_values()
hyper_value = st.one_of(
    st.just("auto"), huge_int, st.floats(), st.sampled_from([1, 2, 50, 51, 256, 257, 0.5, 2.0]), anything
)
hyperparameters = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "batch_size": hyper_value,
            "learning_rate_multiplier": hyper_value,
            "n_epochs": hyper_value,
            "beta": hyper_value,
        },
    ),
    anything,
)
method = st.one_of(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["supervised", "dpo", "reinforcement"]) | anything},
        optional={
            "supervised": st.fixed_dictionaries({}, optional={"hyperparameters": hyperparameters}) | anything,
            "dpo": st.fixed_dictionaries({}, optional={"hyperparameters": hyperparameters}) | anything,
            "reinforcement": anything,
        },
    ),
    anything,
)
wandb = st.fixed_dictionaries(
    {"project": odd_text | anything},
    optional={
        "name": odd_text | st.none(),
        "entity": odd_text | st.none(),
        "tags": st.lists(odd_text, max_size=52) | anything,
    },
)
integrations = st.one_of(
    st.lists(
        st.fixed_dictionaries({"type": st.just("wandb") | anything, "wandb": wandb | anything}), max_size=6
    ),
    anything,
)
metadata = st.one_of(
    st.dictionaries(
        odd_text | st.text(min_size=60, max_size=70),
        odd_text | st.text(min_size=500, max_size=520),
        max_size=17,
    ),
    anything,
)
model_name = st.one_of(
    st.sampled_from(
        ["gpt-4o-mini", "gpt-4o-mini-2024-07-18", "gpt-3.5-turbo", "gpt-4.1-nano", "ft:gpt-4o-mini:org::abc"]
    ),
    odd_text,
    anything,
)
file_ref = st.one_of(st.just(REAL_FILE), st.just(REAL_FILE), odd_text, anything)
job_fields = st.fixed_dictionaries(
    {},
    optional={
        "model": model_name,
        "training_file": file_ref,
        "validation_file": st.none() | file_ref,
        "suffix": odd_text | st.from_regex(r"[A-Za-z0-9._-]{1,70}", fullmatch=True) | anything,
        "seed": huge_int | anything,
        "method": method,
        "hyperparameters": hyperparameters,
        "integrations": integrations,
        "metadata": metadata,
        "extra": anything,
    },
)
# Bodies that get past "model" and "training_file", so the rest is what gets judged.
plausible_job = st.builds(
    lambda base, rest: {**rest, **base},
    st.fixed_dictionaries(
        {
            "model": st.sampled_from(["gpt-4o-mini", "gpt-3.5-turbo", "gpt-4.1-nano-2025-04-14"]),
            "training_file": st.just(REAL_FILE),
        }
    ),
    job_fields,
)


def dump(body: Any, file_id: str = "", job: str = "") -> bytes:
    """JSON as Python writes it (NaN/Infinity included), with the real ids put in."""
    text = json.dumps(body)
    text = text.replace(json.dumps(REAL_FILE), json.dumps(file_id)).replace(
        json.dumps(REAL_JOB), json.dumps(job)
    )
    return text.encode("utf-8", "surrogatepass")


content_types = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "application/json; charset=latin-1",
            "application/merge-patch+json",
            "text/plain",
            "text/json",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "multipart/form-data; boundary=xyz",
            "application/octet-stream",
            "*/*",
            "",
            ";;;",
            "application/json; charset=\u00e9",
        ]
    ),
    # HTTP forbids whitespace around a header value; h11 would refuse to send it.
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40).map(str.strip),
)
raw_bodies = st.one_of(
    st.binary(max_size=300),
    st.sampled_from(
        [
            b"",
            b"{",
            b"}",
            b"[]",
            b"null",
            b"0",
            b'"x"',
            b"\xff\xfe{\x00}",
            b"\xef\xbb\xbf{}",
            b"NaN",
            b'{"model": "gpt-4o-mini", "training_file": "x"',
            b'{"model": "\\ud800"}',
            b'{"a": 1}{"b": 2}',
            b"model=gpt-4o-mini&training_file=x",
            b"[" * 5000 + b"]" * 5000,
            b'{"model": ' * 3000,
        ]
    ),
    st.text(max_size=100).map(lambda t: t.encode("utf-16")),
)


def quote_segment(text: str, safe: str = "") -> str:
    """Percent-encode a path segment; `.` and `..` are encoded too so no client normalizes them."""
    quoted = quote(text, safe=safe)
    return re.sub(r"(?:(?<=^)|(?<=/))(\.{1,2})(?=/|$)", lambda m: "%2E" * len(m.group(1)), quoted)


path_id = st.one_of(
    odd_text,
    st.sampled_from([REAL_FILE, REAL_JOB]),
    st.tuples(st.sampled_from([REAL_FILE, REAL_JOB]), odd_text).map("".join),
    st.text(alphabet="abc:/.%-_ ", max_size=20),
)
model_path = st.one_of(
    path_id,
    st.sampled_from(
        [
            "gpt-4o-mini",
            "gpt-4o-mini-2024-07-18",
            "ft:gpt-4o-mini:org::abc",
            "ft:gpt-4o-mini:a/b:c:d",
            "a//b",
            "/",
        ]
    ),
    st.lists(odd_text, min_size=1, max_size=5).map(":".join),
    st.lists(odd_text, min_size=1, max_size=4).map("/".join),
)
ID_ROUTES = [
    ("GET", "/v1/files/{}"),
    ("DELETE", "/v1/files/{}"),
    ("GET", "/v1/files/{}/content"),
    ("GET", "/v1/files/{}/validation"),
    ("GET", "/v1/fine_tuning/jobs/{}"),
    ("POST", "/v1/fine_tuning/jobs/{}/cancel"),
    ("POST", "/v1/fine_tuning/jobs/{}/pause"),
    ("POST", "/v1/fine_tuning/jobs/{}/resume"),
    ("GET", "/v1/fine_tuning/jobs/{}/events"),
    ("GET", "/v1/fine_tuning/jobs/{}/checkpoints"),
    ("GET", "/v1/models/{}"),
    ("DELETE", "/v1/models/{}"),
    ("POST", "/v1/uploads/{}/cancel"),
    ("POST", "/v1/uploads/{}/complete"),
    ("POST", "/v1/uploads/{}/parts"),
]

LIST_ROUTES = [
    "/v1/files",
    "/v1/fine_tuning/jobs",
    "/v1/models",
    "/v1/fine_tuning/jobs/{job}/events",
    "/v1/fine_tuning/jobs/{job}/checkpoints",
]
query_name = st.one_of(
    st.sampled_from(["after", "limit", "order", "purpose", "metadata", "metadata[team]", "metadata[k]"]),
    st.builds(lambda key: f"metadata[{key}]", odd_text),
    odd_text,
)
query_value = st.one_of(
    odd_text,
    huge_int.map(str),
    st.floats().map(repr),
    st.sampled_from(
        [
            "asc",
            "desc",
            "ASC",
            "null",
            "fine-tune",
            "batch",
            "fine-tune-results",
            "a",
            "v",
            REAL_FILE,
            REAL_JOB,
        ]
    ),
)
query_pairs = st.lists(st.tuples(query_name, query_value), max_size=6)


def fill_ids(text: str, file_id: str, job: str) -> str:
    return text.replace(REAL_FILE, file_id).replace(REAL_JOB, job)


def encode_pairs(pairs: list[tuple[str, str]], file_id: str, job: str) -> str:
    return "&".join(
        f"{quote(fill_ids(k, file_id, job), safe='[]')}={quote(fill_ids(v, file_id, job), safe='')}"
        for k, v in pairs
    )


# Multipart, built by hand so names, filenames and framing can all be wrong.
field_name = st.one_of(
    st.sampled_from(
        ["file", "purpose", "expires_after[anchor]", "expires_after[seconds]", "expires_after", "data"]
    ),
    odd_text,
)
purpose_value = st.one_of(
    st.sampled_from(
        [
            "fine-tune",
            "batch",
            "assistants",
            "vision",
            "user_data",
            "fine-tune-results",
            "batch_output",
            "evals",
            "fine_tune",
            "FINE-TUNE",
            "",
        ]
    ),
    odd_text,
)
expires_value = st.one_of(
    st.sampled_from(
        [
            "created_at",
            "3600",
            "3599",
            "2592000",
            "2592001",
            "٣٦٠٠",
            " 3600 ",
            "3_600",
            "3600.0",
            "-3600",
            "1e4",
            "0x1000",
        ]
    ),
    huge_int.map(str),
    odd_text,
)
filename = st.one_of(
    odd_text,
    odd_text.map(lambda t: t + ".jsonl"),
    st.sampled_from(
        [
            "",
            ".jsonl",
            "a.JSONL",
            "a.jsonl ",
            'a".jsonl',
            "a;b.jsonl",
            "dir/a.jsonl",
            "C:\\x\\a.jsonl",
            "é.jsonl",
            "a\r\nb.jsonl",
        ]
    ),
    st.integers(500, 700).map(lambda n: "x" * n + ".jsonl"),
)
file_content = st.one_of(
    st.binary(max_size=200),
    st.just(chat_lines(3)),
    st.sampled_from([b"", b"{}\n", b"\xff\xfe\n", b"\x00" * 10]),
)


@st.composite
def multipart_bodies(draw: st.DrawFn) -> tuple[bytes, str]:
    boundary = draw(st.sampled_from(["b0undary", "x", "----WebKitFormBoundary7MA4YWxkTrZu0gW", "é"]))
    parts: list[bytes] = []
    n_parts = draw(st.integers(0, 5))
    for _ in range(n_parts):
        name = draw(field_name)
        is_file = draw(st.booleans()) if name != "file" else draw(st.sampled_from([True, True, True, False]))
        header = f'Content-Disposition: form-data; name="{name}"'
        if is_file:
            header += f'; filename="{draw(filename)}"'
            body = draw(file_content)
        elif name == "purpose":
            body = draw(purpose_value).encode("utf-8", "surrogatepass")
        elif name.startswith("expires_after"):
            body = draw(expires_value).encode("utf-8", "surrogatepass")
        else:
            body = draw(odd_text).encode("utf-8", "surrogatepass")
        extra = draw(
            st.sampled_from(
                [
                    "",
                    "Content-Type: application/jsonl\r\n",
                    "Content-Type: text/plain; charset=latin-1\r\n",
                    "X: y\r\n",
                ]
            )
        )
        parts.append(
            f"--{boundary}\r\n{header}\r\n{extra}\r\n".encode("utf-8", "surrogatepass") + body + b"\r\n"
        )
    ending = draw(
        st.sampled_from([f"--{boundary}--\r\n", f"--{boundary}--", "", f"--{boundary}\r\n", "--other--\r\n"])
    )
    body = b"".join(parts) + ending.encode()
    if draw(st.integers(0, 9)) == 0:
        body = body[: draw(st.integers(0, len(body)))]
    content_type = draw(
        st.sampled_from(
            [
                f"multipart/form-data; boundary={boundary}",
                f'multipart/form-data; boundary="{boundary}"',
                f"multipart/form-data; boundary={boundary}; charset=utf-8",
                "multipart/form-data; boundary=other",
                f"Multipart/Form-Data; boundary={boundary}",
                f"multipart/mixed; boundary={boundary}",
            ]
        )
    )
    return body, content_type


def send(
    api: httpx2.Client, method: str, path: str, content: bytes | None = None, content_type: str | None = None
) -> httpx2.Response:
    # Sent as UTF-8 bytes: a non-ASCII boundary or charset is the server's problem, not httpx2's.
    headers = {"content-type": content_type.encode()} if content_type is not None else {}
    return api.request(method, path, content=content, headers=headers)


# ---------------------------------------------------------------------------------------------
# POST /v1/fine_tuning/jobs
# ---------------------------------------------------------------------------------------------


@FUZZ
@given(body=anything)
def test_create_job_with_any_json_value(api: httpx2.Client, training_file: str, body: Any):
    send(api, "POST", "/v1/fine_tuning/jobs", dump(body, training_file), "application/json")


@FUZZ
@given(body=job_fields)
def test_create_job_with_any_field_values(api: httpx2.Client, training_file: str, body: dict[str, Any]):
    send(api, "POST", "/v1/fine_tuning/jobs", dump(body, training_file), "application/json")


@FUZZ
@given(body=plausible_job)
def test_create_job_with_a_real_file_and_any_options(
    api: httpx2.Client, training_file: str, body: dict[str, Any]
):
    send(api, "POST", "/v1/fine_tuning/jobs", dump(body, training_file), "application/json")


@FUZZ
@given(content=raw_bodies, content_type=content_types)
def test_create_job_with_any_bytes_and_content_type(
    api: httpx2.Client, content: bytes, content_type: str | None
):
    send(api, "POST", "/v1/fine_tuning/jobs", content, content_type)


@FEW
@given(body=job_fields, content_type=content_types)
def test_create_job_with_json_under_any_content_type(
    api: httpx2.Client, training_file: str, body: dict[str, Any], content_type: str | None
):
    send(api, "POST", "/v1/fine_tuning/jobs", dump(body, training_file), content_type)


# ---------------------------------------------------------------------------------------------
# Lists with arbitrary query strings
# ---------------------------------------------------------------------------------------------


@FUZZ
@given(route=st.sampled_from(LIST_ROUTES), pairs=query_pairs)
def test_list_with_any_query(
    api: httpx2.Client, training_file: str, job_id: str, route: str, pairs: list[tuple[str, str]]
):
    query = encode_pairs(pairs, training_file, job_id)
    api.get(f"{route.format(job=job_id)}?{query}")


@FEW
@given(route=st.sampled_from(LIST_ROUTES), raw=st.binary(max_size=60))
def test_list_with_any_query_bytes(api: httpx2.Client, job_id: str, route: str, raw: bytes):
    """Any bytes, percent-encoded (so invalid UTF-8 too), with `=` and `&` left as they are."""
    query = "&".join(
        "=".join(quote_from_bytes(piece) for piece in pair.split(b"=")) for pair in raw.split(b"&")
    )
    api.get(f"{route.format(job=job_id)}?{query}")


# ---------------------------------------------------------------------------------------------
# Path ids on every route
# ---------------------------------------------------------------------------------------------


@FUZZ
@given(route=st.sampled_from(ID_ROUTES), raw_id=path_id)
def test_any_path_id_on_every_route(
    api: httpx2.Client, training_file: str, job_id: str, route: tuple[str, str], raw_id: str
):
    method, template = route
    path = template.format(quote_segment(fill_ids(raw_id, training_file, job_id)))
    api.request(method, path)


@FUZZ
@given(method=st.sampled_from(["GET", "DELETE"]), model=model_path, safe=st.sampled_from(["", ":", ":/"]))
def test_any_model_name(
    api: httpx2.Client, training_file: str, job_id: str, method: str, model: str, safe: str
):
    api.request(method, "/v1/models/" + quote_segment(fill_ids(model, training_file, job_id), safe=safe))


# ---------------------------------------------------------------------------------------------
# POST /v1/files
# ---------------------------------------------------------------------------------------------


@FUZZ
@given(form=multipart_bodies())
def test_upload_with_any_multipart_form(api: httpx2.Client, form: tuple[bytes, str]):
    body, content_type = form
    send(api, "POST", "/v1/files", body, content_type)


@FUZZ
@given(
    fields=st.dictionaries(
        field_name.filter(lambda n: n != "file"), purpose_value | expires_value, max_size=4
    ),
    purpose=st.none() | purpose_value,
    anchor=st.none() | expires_value,
    seconds=st.none() | expires_value,
    name=filename,
    content=file_content,
)
def test_upload_with_odd_fields_and_filenames(
    api: httpx2.Client,
    fields: dict[str, str],
    purpose: str | None,
    anchor: str | None,
    seconds: str | None,
    name: str,
    content: bytes,
):
    """A well-formed form (httpx2 builds it) whose values are odd."""
    data = dict(fields)
    for key, value in (
        ("purpose", purpose),
        ("expires_after[anchor]", anchor),
        ("expires_after[seconds]", seconds),
    ):
        if value is not None:
            data[key] = value
    api.post("/v1/files", files={"file": (name, content)}, data=data)


@FEW
@given(content=raw_bodies, content_type=content_types)
def test_upload_with_any_bytes_and_content_type(api: httpx2.Client, content: bytes, content_type: str | None):
    send(api, "POST", "/v1/files", content, content_type)


# ---------------------------------------------------------------------------------------------
# The Uploads API
# ---------------------------------------------------------------------------------------------

upload_fields = st.fixed_dictionaries(
    {},
    optional={
        "filename": filename | anything,
        "purpose": purpose_value | anything,
        "bytes": st.one_of(huge_int, st.integers(-1, 2**33), anything),
        "mime_type": odd_text | anything,
        "expires_after": st.fixed_dictionaries(
            {}, optional={"anchor": expires_value | anything, "seconds": huge_int | anything}
        )
        | anything,
    },
)


@pytest.fixture
def upload_id(api: httpx2.Client) -> str:
    """A pending upload of the project, for parts and completions to reach a real row."""
    body = {"filename": "t.jsonl", "purpose": "fine-tune", "bytes": 100, "mime_type": "text/jsonl"}
    response = api.post("/v1/uploads", json=body)
    assert response.status_code == 200, describe(response)
    return response.json()["id"]


@FUZZ
@given(body=st.one_of(anything, upload_fields))
def test_create_upload_with_any_json(api: httpx2.Client, body: Any):
    send(api, "POST", "/v1/uploads", dump(body), "application/json")


@FUZZ
@given(form=multipart_bodies())
def test_upload_part_with_any_multipart_form(api: httpx2.Client, upload_id: str, form: tuple[bytes, str]):
    body, content_type = form
    send(api, "POST", f"/v1/uploads/{upload_id}/parts", body, content_type)


@FUZZ
@given(
    body=st.one_of(
        anything,
        st.fixed_dictionaries(
            {}, optional={"part_ids": st.lists(odd_text, max_size=4) | anything, "md5": odd_text | anything}
        ),
    )
)
def test_complete_upload_with_any_json(api: httpx2.Client, upload_id: str, body: Any):
    send(api, "POST", f"/v1/uploads/{upload_id}/complete", dump(body), "application/json")


# ---------------------------------------------------------------------------------------------
# Methods and credentials
# ---------------------------------------------------------------------------------------------

ALL_PATHS = [
    "/v1/files",
    "/v1/files/{file}",
    "/v1/files/{file}/content",
    "/v1/files/{file}/validation",
    "/v1/fine_tuning/jobs",
    "/v1/fine_tuning/jobs/{job}",
    "/v1/fine_tuning/jobs/{job}/cancel",
    "/v1/fine_tuning/jobs/{job}/pause",
    "/v1/fine_tuning/jobs/{job}/resume",
    "/v1/fine_tuning/jobs/{job}/events",
    "/v1/fine_tuning/jobs/{job}/checkpoints",
    "/v1/models",
    "/v1/models/gpt-4o-mini",
    "/v1/uploads",
    "/v1/uploads/upload_unknown/parts",
    "/v1/uploads/upload_unknown/complete",
    "/v1/uploads/upload_unknown/cancel",
    "/v1",
    "/",
    "/v1/nope",
]


@FEW
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE", "PROPFIND"]),
    path=st.sampled_from(ALL_PATHS),
)
def test_any_method_on_any_path(api: httpx2.Client, training_file: str, job_id: str, method: str, path: str):
    """Wrong methods are 405 and unknown paths 404, in the envelope. A DELETE may remove the
    fixture file; later examples then get a 404, which is just as well formed."""
    api.request(method, path.format(file=training_file, job=job_id))


def header_bytes(raw: bytes) -> bytes:
    """What HTTP allows in a header value: no controls, no surrounding whitespace."""
    return raw.translate(None, bytes(range(32)) + b"\x7f").strip(b" ")


header_value = st.binary(max_size=80).map(header_bytes)
authorization = st.one_of(
    header_value,
    header_value.map(lambda token: header_bytes(b"Bearer " + token)),
    st.sampled_from(
        [b"Bearer", b"bearer sk-ftg-", b"Basic dXNlcjpwYXNz", b"Bearer \xe9\xff", b"Bearer " + b"k" * 5000]
    ),
)


@FEW
@given(
    value=authorization,
    path=st.sampled_from(["/v1/files", "/v1/fine_tuning/jobs", "/v1/models", "/v1/models/gpt-4o-mini"]),
)
def test_any_authorization_header_is_a_401_envelope(server: RunningServer, value: bytes, path: str):
    """Header bytes HTTP allows, non-ASCII ones included, never authenticate."""
    hooks = {"response": [lambda r: (r.read(), check(r))]}
    with httpx2.Client(base_url=server.base_url, timeout=20, event_hooks=hooks) as raw:
        response = raw.get(path, headers={"authorization": value} if value else {})
    assert response.status_code == 401, describe(response)


# ---------------------------------------------------------------------------------------------
# Deterministic regressions for edge cases found by the properties above
# ---------------------------------------------------------------------------------------------

NUL = "\x00"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/files/%00"),
        ("DELETE", "/v1/files/a%00b"),
        ("GET", "/v1/files/%00/content"),
        ("GET", "/v1/files/%00/validation"),
        ("GET", "/v1/files?after=%00"),
        ("GET", "/v1/files?purpose=%00"),
        ("GET", "/v1/fine_tuning/jobs/%00"),
        ("POST", "/v1/fine_tuning/jobs/%00/cancel"),
        ("GET", "/v1/fine_tuning/jobs/%00/events"),
        ("GET", "/v1/fine_tuning/jobs?after=%00"),
        ("GET", "/v1/fine_tuning/jobs?metadata%5Bk%5D=%00"),
        ("GET", "/v1/fine_tuning/jobs?metadata%5B%00%5D=v"),
        ("GET", "/v1/models/ft:a%00b"),
        ("DELETE", "/v1/models/ft:a%00b"),
    ],
)
def test_nul_in_ids_and_filters_is_not_a_500(api: httpx2.Client, job_id: str, method: str, path: str):
    """U+0000 is valid in a URL but not in a PostgreSQL text value, nor in an SQLite JSON path."""
    response = api.request(method, path)
    assert response.status_code in (200, 400, 404)


@pytest.mark.parametrize(
    "body",
    [
        {"model": "gpt-4o-mini", "training_file": NUL},
        {"model": NUL, "training_file": "file-x"},
        {"model": "gpt-4o-mini", "training_file": "{file}", "validation_file": NUL},
        {"model": "gpt-4o-mini", "training_file": "{file}", "metadata": {"k": NUL}},
        {"model": "gpt-4o-mini", "training_file": "{file}", "metadata": {NUL: "v"}},
        {
            "model": "gpt-4o-mini",
            "training_file": "{file}",
            "integrations": [{"type": "wandb", "wandb": {"project": NUL}}],
        },
    ],
    ids=["training_file", "model", "validation_file", "metadata-value", "metadata-key", "wandb-project"],
)
def test_nul_in_job_fields_is_not_a_500(api: httpx2.Client, training_file: str, body: dict[str, Any]):
    filled = json.loads(json.dumps(body).replace('"{file}"', json.dumps(training_file)))
    response = api.post("/v1/fine_tuning/jobs", json=filled)
    assert response.status_code in (200, 400)


@pytest.mark.parametrize("token", ["Infinity", "1e999"])
def test_infinite_learning_rate_multiplier_is_refused(api: httpx2.Client, training_file: str, token: str):
    """json.loads reads `Infinity` and `1e999` as inf, which passes `gt=0` but is no JSON number."""
    hyperparameters = f'"hyperparameters": {{"learning_rate_multiplier": {token}}}'
    body = f'{{"model": "gpt-4o-mini", "training_file": "{training_file}", {hyperparameters}}}'
    response = send(api, "POST", "/v1/fine_tuning/jobs", body.encode(), "application/json")
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "hyperparameters.learning_rate_multiplier"


def test_nan_hyperparameter_is_refused(api: httpx2.Client, training_file: str):
    method = b'{"type": "dpo", "dpo": {"hyperparameters": {"beta": NaN}}}'
    body = b'{"model": "gpt-4o-mini", "training_file": "%s", "method": %s}' % (training_file.encode(), method)
    response = send(api, "POST", "/v1/fine_tuning/jobs", body, "application/json")
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "method.dpo.hyperparameters.beta"


def test_wandb_integration_without_tags_matches_the_spec(api: httpx2.Client, training_file: str):
    """`tags` is optional but, when present, an array: an omitted one must not come back as null."""
    response = api.post(
        "/v1/fine_tuning/jobs",
        json={
            "model": "gpt-4o-mini",
            "training_file": training_file,
            "integrations": [{"type": "wandb", "wandb": {"project": "p"}}],
        },
    )
    assert response.status_code == 200  # the response hook checks the body against FineTuningJob


def test_long_filename_is_not_a_500(api: httpx2.Client):
    """`files.filename` is VARCHAR(512): PostgreSQL enforces it, SQLite does not."""
    response = api.post(
        "/v1/files", files={"file": ("x" * 600 + ".jsonl", b"{}\n")}, data={"purpose": "fine-tune"}
    )
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert api.get(f"/v1/files/{response.json()['id']}").status_code == 200


def test_unicode_filename_round_trips(api: httpx2.Client):
    response = api.post(
        "/v1/files", files={"file": ("données 🙂.jsonl", chat_lines(1))}, data={"purpose": "fine-tune"}
    )
    assert response.status_code == 200
    assert api.get(f"/v1/files/{response.json()['id']}").json()["filename"] == "données 🙂.jsonl"


def test_two_file_parts_and_an_unterminated_form_are_400(api: httpx2.Client):
    two = api.post(
        "/v1/files",
        files=[("file", ("a.jsonl", b"{}\n")), ("file", ("b.jsonl", b"{}\n"))],
        data={"purpose": "fine-tune"},
    )
    assert (two.status_code, two.json()["error"]["param"]) == (400, "file")
    unterminated = send(api, "POST", "/v1/files", b"--b\r\n", "multipart/form-data; boundary=b")
    assert unterminated.status_code == 400


def test_model_names_with_colons_and_slashes_are_404_not_routing_errors(api: httpx2.Client):
    for name in ("ft:gpt-4o-mini:org:a/b:xyz", "ft:gpt-4o-mini:org::xyz", "a//b", "%2F"):
        response = api.get(f"/v1/models/{name}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "model_not_found"


def test_trailing_slash_is_a_redirect_with_a_request_id(api: httpx2.Client):
    response = api.get("/v1/files/")
    assert response.status_code == 307
    assert response.headers["location"].endswith("/v1/files")
