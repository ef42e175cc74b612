"""The Dockerfile's targets and docker-compose.yml: the slim image installs no `local` extra, the
trainer's and the full one do, and compose runs them on PostgreSQL, Redis and MinIO."""

import re
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SLIM_SERVICES = ("migrate", "gateway", "worker", "beat")


def stages() -> dict[str, str]:
    """Each target's name and its instructions, its base stage's included."""
    text = (REPO / "Dockerfile").read_text()
    found: dict[str, str] = {}
    for match in re.finditer(r"^FROM (\S+) AS (\S+)\n(.*?)(?=^FROM |\Z)", text, re.M | re.S):
        base, name, body = match.groups()
        found[name] = found.get(base, "") + body
    return found


def dependency_install(stage: str) -> str:
    """The line that installs a target's pinned dependencies (before the code is copied)."""
    [line] = [line for line in stage.splitlines() if line.startswith("RUN pip install") and "-r " in line]
    return line


def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_the_dockerfile_has_a_slim_a_trainer_and_a_full_target() -> None:
    targets = stages()
    assert {"gateway", "trainer", "full"} <= targets.keys()
    assert "['optional-dependencies']['local']" in targets["base"]  # the extra, read from pyproject
    assert "requirements-local" not in dependency_install(targets["gateway"])
    for name in ("trainer", "full"):
        assert "-r /tmp/requirements-local.txt" in dependency_install(targets[name])
        assert '--extra-index-url "$TORCH_INDEX"' in dependency_install(targets[name])
    assert "ARG TORCH_INDEX=https://pypi.org/simple" in targets["trainer"]  # PyPI's torch is CUDA's
    assert "ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu" in targets["full"]
    assert "torch.version.cuda" in targets["full"]  # a CUDA torch fails the CPU image's build


def test_every_image_holds_every_package_and_alembic() -> None:
    """The install is editable (migrations find alembic/ beside the package): each package the
    project declares must reach the image through .dockerignore, which lets nothing else in."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = [name.rstrip("*") for name in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    rules = [line for line in (REPO / ".dockerignore").read_text().splitlines() if line and line[0] != "#"]
    assert rules[0] == "*"
    let_in = {rule[1:] for rule in rules if rule.startswith("!")}
    assert {*packages, "alembic", "alembic.ini", "pyproject.toml", "README.md"} <= let_in
    for name in ("gateway", "trainer", "full"):
        stage = stages()[name]
        assert "COPY . ." in stage and "pip install --no-deps -e ." in stage, name
        assert stage.index(dependency_install(stage)) < stage.index("COPY . ."), name
        assert "USER ftgate" in stage, name


def test_compose_runs_the_slim_image_and_a_trainer_on_minio() -> None:
    services = compose()["services"]
    for name in SLIM_SERVICES:
        assert services[name]["build"]["target"] == "${FTGATE_IMAGE:-gateway}", name
        assert services[name]["image"] == "ftgate:${FTGATE_IMAGE:-gateway}", name
    assert services["trainer"]["build"]["target"] == "trainer"
    assert services["trainer"]["profiles"] == ["local"]
    assert services["minio"]["image"].startswith("minio/minio:RELEASE.")
    for name in (*SLIM_SERVICES, "trainer"):
        env = services[name]["environment"]
        assert env["FTGATE_STORAGE"] == "s3" and env["FTGATE_S3_ENDPOINT_URL"] == "http://minio:9000"
        assert env["FTGATE_S3_SECRET_ACCESS_KEY"] == services["minio"]["environment"]["MINIO_ROOT_PASSWORD"]
    assert "store/ftgate" in services["minio-bucket"]["entrypoint"][-1]
    assert services["gateway"]["environment"]["FTGATE_S3_BUCKET"] == "ftgate"


def test_compose_waits_only_for_services_it_has() -> None:
    services = compose()["services"]
    for name, service in services.items():
        assert set(service.get("depends_on", {})) <= services.keys(), name
    for name in ("gateway", "worker", "trainer"):
        assert services[name]["depends_on"]["minio-bucket"] == {"condition": "service_completed_successfully"}
