"""docker-compose.yml runs commands and settings that exist in this code base."""

import importlib
from pathlib import Path

import yaml

from gateway.settings import Settings

COMPOSE = yaml.safe_load((Path(__file__).resolve().parents[2] / "docker-compose.yml").read_text())


def test_every_ftgate_variable_is_a_setting():
    environment = COMPOSE["x-ftgate-env"]
    for name in environment:
        assert name.startswith("FTGATE_") and name[len("FTGATE_") :].lower() in Settings.model_fields, name
    for name in COMPOSE["x-metrics-env"].keys() - environment.keys():
        assert name == "PROMETHEUS_MULTIPROC_DIR" or name[len("FTGATE_") :].lower() in Settings.model_fields
    settings = Settings(**{name[len("FTGATE_") :].lower(): value for name, value in environment.items()})
    assert settings.database_url.startswith("postgresql+asyncpg://") and settings.queue == "celery"


def test_service_commands_name_real_entry_points():
    gateway = COMPOSE["services"]["gateway"]["command"]
    module, attribute = gateway[gateway.index("--factory") + 1].split(":")
    assert callable(getattr(importlib.import_module(module), attribute))
    for service in ("worker", "trainer", "beat"):
        command = COMPOSE["services"][service]["command"]
        assert command[:3] == ["celery", "-A", "workers.celery_app"]
    defaults = Settings()
    assert COMPOSE["services"]["worker"]["command"][4:6] == ["-Q", defaults.celery_queue]
    assert COMPOSE["services"]["trainer"]["command"][4:6] == ["-Q", defaults.celery_training_queue]
    assert hasattr(importlib.import_module("workers.celery_app"), "app")
    assert COMPOSE["services"]["migrate"]["command"] == ["ftgate", "migrate"]
