import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "export_openapi.py"

# OpenAI's paths (spec servers end in /v1) that ftgate serves, plus its own validation report and quote.
MIRRORED = {
    "/files",
    "/files/{file_id}",
    "/files/{file_id}/content",
    "/fine_tuning/jobs",
    "/fine_tuning/jobs/{fine_tuning_job_id}",
    "/fine_tuning/jobs/{fine_tuning_job_id}/cancel",
    "/fine_tuning/jobs/{fine_tuning_job_id}/pause",
    "/fine_tuning/jobs/{fine_tuning_job_id}/resume",
    "/fine_tuning/jobs/{fine_tuning_job_id}/events",
    "/fine_tuning/jobs/{fine_tuning_job_id}/checkpoints",
    "/models",
    "/models/{model}",
    "/chat/completions",
}
FTGATE_ONLY = {"/files/{file_id}/validation", "/files/{file_id}/quote"}


def load_script():
    spec = importlib.util.spec_from_file_location("export_openapi", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_document_is_current():
    script = load_script()
    committed = script.OUTPUT.read_text(encoding="utf-8")
    assert committed == script.build_document(), "routes changed: run python scripts/export_openapi.py"
    assert committed.endswith("}\n")


def test_v1_paths_are_openai_paths_or_ours():
    document = json.loads(load_script().OUTPUT.read_text(encoding="utf-8"))
    v1_paths = {path.removeprefix("/v1") for path in document["paths"] if path.startswith("/v1/")}
    assert v1_paths, "no /v1 paths in the document"
    assert v1_paths <= MIRRORED | FTGATE_ONLY, sorted(v1_paths - MIRRORED - FTGATE_ONLY)
