import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "export_openapi.py"

# OpenAI's paths (spec servers end in /v1) that ftgate serves, plus its own validation report and quote.
MIRRORED = {
    "/files",
    "/files/{file_id}",
    "/files/{file_id}/content",
    "/uploads",
    "/uploads/{upload_id}/parts",
    "/uploads/{upload_id}/complete",
    "/uploads/{upload_id}/cancel",
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
    "/fine_tuning/alpha/graders/run",
    "/fine_tuning/alpha/graders/validate",
    "/evals",
    "/evals/{eval_id}",
    "/evals/{eval_id}/runs",
    "/evals/{eval_id}/runs/{run_id}",
    "/evals/{eval_id}/runs/{run_id}/output_items",
    "/evals/{eval_id}/runs/{run_id}/output_items/{output_item_id}",
}
FTGATE_ONLY = {
    "/files/{file_id}/validation",
    "/files/{file_id}/quote",
    "/models/{model}/weights",
    "/base_models",
}


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


def test_operations_declare_the_errors_they_send_never_422():
    document = json.loads(load_script().OUTPUT.read_text(encoding="utf-8"))
    envelope = {"$ref": "#/components/schemas/ErrorResponse"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "422" not in responses, (method, path)
            expected = {"400"} | ({"401", "429"} if path.startswith("/v1/") else set())
            expected |= {"401"} if path.startswith("/admin/") else set()
            expected |= {"408", "413"} if "requestBody" in operation else set()
            expected |= {"404"} if "{" in path else set()
            assert expected <= responses.keys(), (method, path, sorted(responses))
            for status, response in responses.items():
                if int(status) >= 400:
                    assert response["content"]["application/json"]["schema"] == envelope, (method, path)
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_file_content_is_octet_stream_weights_a_tar_and_uploads_are_multipart():
    paths = json.loads(load_script().OUTPUT.read_text(encoding="utf-8"))["paths"]
    content = paths["/v1/files/{file_id}/content"]["get"]["responses"]["200"]["content"]
    assert set(content) == {"application/octet-stream"}
    form = paths["/v1/files"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["required"] == ["file", "purpose"]
    assert form["properties"]["file"] == {
        "type": "string",
        "format": "binary",
        "description": "The file's bytes.",
    }
    assert {"expires_after[anchor]", "expires_after[seconds]"} <= form["properties"].keys()
    part = paths["/v1/uploads/{upload_id}/parts"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert part["schema"]["required"] == ["data"]
    weights = paths["/v1/models/{model}/weights"]["get"]
    assert set(weights["responses"]["200"]["content"]) == {"application/x-tar"}
    assert weights["parameters"][1]["schema"]["enum"] == ["adapter", "merged"]
    assert "502" in paths["/v1/chat/completions"]["post"]["responses"]
    assert "503" in paths["/v1/files"]["post"]["responses"]
