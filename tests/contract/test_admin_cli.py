"""The operator's commands: projects, keys, limits, usage and the audit log, on the database of
the embedded default, and a key's limits holding at the API the moment the command returns."""

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import openai
import pytest

from gateway.settings import Settings
from tests.support.admin import ADMIN_KEY, Admin
from tests.support.jobs import upload
from tests.support.parked import PARKED
from tests.support.server import serve

FTGATE = str(Path(sys.executable).parent / "ftgate")


def ftgate(data_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FTGATE_DATA_DIR": str(data_dir)}
    env.pop("FTGATE_DATABASE_URL", None)
    return subprocess.run([FTGATE, *args], env=env, capture_output=True, text=True, timeout=120, check=check)


def as_json(result: subprocess.CompletedProcess[str]):
    return json.loads(result.stdout)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    ftgate(tmp_path, "migrate")
    return tmp_path


def test_projects_keys_and_limits_from_the_command_line(data_dir: Path):
    project = as_json(
        ftgate(data_dir, "projects", "create", "research", "--spend-usd", "12.5", "--models", "gpt-4.1")
    )
    assert project["name"] == "research"
    assert project["limits"]["spend_usd"] == 12.5 and project["limits"]["models"] == ["gpt-4.1"]
    assert "already exists" in ftgate(data_dir, "projects", "create", "research", check=False).stderr
    secret = ftgate(data_dir, "keys", "create", "--project", "research", "--name", "ana").stdout.split()[-1]
    (key,) = as_json(ftgate(data_dir, "keys", "list", "--project", "research"))
    assert key["name"] == "ana" and key["redacted_value"] == f"{secret[:10]}***{secret[-4:]}"
    assert key["value"] is None and secret not in json.dumps(key)
    limited = as_json(
        ftgate(data_dir, "limits", "set", "--key", key["id"], "--concurrent-jobs", "2", "--rpm", "60")
    )
    assert limited["limits"]["concurrent_jobs"] == 2 and limited["limits"]["requests_per_minute"] == 60
    cleared = as_json(ftgate(data_dir, "limits", "set", "--project", "research"))
    assert cleared["limits"]["spend_usd"] is None
    assert as_json(ftgate(data_dir, "keys", "revoke", key["id"]))["revoked_at"] is not None
    actions = [entry["action"] for entry in as_json(ftgate(data_dir, "audit", "--project", "research"))]
    assert actions == [
        "key.revoked",
        "project.limits_set",
        "key.limits_set",
        "key.created",
        "project.created",
    ]
    assert as_json(ftgate(data_dir, "projects", "list"))[0]["id"] == project["id"]


def test_usage_from_the_command_line_matches_the_jobs(data_dir: Path):
    secret = ftgate(data_dir, "keys", "create", "--project", "ops").stdout.split()[-1]
    with serve(Settings(data_dir=data_dir, **PARKED)) as server:
        client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=secret, max_retries=0)
        file_id = upload(client, "elle-limericks.jsonl")
        quote = client.get(
            f"/files/{file_id}/quote", cast_to=object, options={"params": {"model": "gpt-4.1"}}
        )
        for _ in range(3):
            client.fine_tuning.jobs.create(model="gpt-4.1", training_file=file_id)
        client.close()
    rows = list(
        csv.DictReader(
            io.StringIO(ftgate(data_dir, "usage", "--group-by", "model", "--format", "csv").stdout)
        )
    )
    assert [(row["model"], row["jobs"], row["trained_tokens"], row["cost_usd"]) for row in rows] == [
        ("gpt-4.1-2025-04-14", "3", "0", "0.0")
    ]
    assert round(float(rows[0]["reserved_usd"]) * 1e6) == 3 * round(quote["estimated_cost"] * 1e6)
    (summary,) = as_json(ftgate(data_dir, "usage", "--project", "ops", "--group-by", "project"))
    assert summary["reserved_usd"] == float(rows[0]["reserved_usd"])


def test_the_audit_log_from_the_command_line_takes_the_admin_api_filters(data_dir: Path):
    """Each filter of `GET /admin/audit_log` as an option of `ftgate audit`, answering the same."""
    ftgate(data_dir, "projects", "create", "research")
    ftgate(data_dir, "keys", "create", "--project", "research", "--name", "ana")
    ftgate(data_dir, "projects", "create", "ops")
    with serve(Settings(data_dir=data_dir, admin_key=ADMIN_KEY, **PARKED)) as server:
        admin = Admin(server.base_url)
        web = admin.create_project("web")
        admin.create_key(web["id"], "bo")
        by_admin = admin.audit(actor="admin", action="key.created")
        admin.close()
    everything = as_json(ftgate(data_dir, "audit"))
    assert [(entry["actor"], entry["action"]) for entry in everything] == [
        ("admin", "key.created"),
        ("admin", "project.created"),
        ("cli", "project.created"),
        ("cli", "key.created"),
        ("cli", "project.created"),
    ]

    def actions(*options: str) -> list[tuple[str, str]]:
        return [(entry["actor"], entry["action"]) for entry in as_json(ftgate(data_dir, "audit", *options))]

    assert actions("--actor", "admin") == [("admin", "key.created"), ("admin", "project.created")]
    assert actions("--action", "key.created") == [("admin", "key.created"), ("cli", "key.created")]
    assert actions("--project", "research", "--actor", "cli") == [
        ("cli", "key.created"),
        ("cli", "project.created"),
    ]
    assert actions("--project", "web", "--action", "project.created") == [("admin", "project.created")]
    assert actions("--actor", "system") == []
    assert as_json(ftgate(data_dir, "audit", "--actor", "admin", "--action", "key.created")) == by_admin

    first_day, last_day = (
        dt.datetime.fromtimestamp(everything[index]["created_at"], dt.UTC).date() for index in (-1, 0)
    )
    assert actions("--since", first_day.isoformat()) == actions()
    assert actions("--until", first_day.isoformat()) == []
    assert actions("--since", (last_day + dt.timedelta(days=1)).isoformat()) == []
    middle = everything[2]["created_at"]
    moment = dt.datetime.fromtimestamp(middle, dt.UTC).isoformat()
    later = as_json(ftgate(data_dir, "audit", "--since", moment))
    earlier = as_json(ftgate(data_dir, "audit", "--until", moment))
    assert later + earlier == everything
    assert all(entry["created_at"] >= middle for entry in later) and len(later) >= 3
    assert all(entry["created_at"] < middle for entry in earlier)

    first_page = as_json(ftgate(data_dir, "audit", "--limit", "2"))
    second_page = as_json(ftgate(data_dir, "audit", "--limit", "2", "--after", first_page[-1]["id"]))
    assert first_page + second_page == everything[:4]
    assert "not YYYY-MM-DD" in ftgate(data_dir, "audit", "--since", "last week", check=False).stderr
