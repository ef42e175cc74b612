"""Public identifiers: a fixed prefix plus random base62, in OpenAI's shapes."""

import secrets
import string

_BASE62 = string.ascii_letters + string.digits


def random_base62(length: int) -> str:
    return "".join(secrets.choice(_BASE62) for _ in range(length))


def new_file_id() -> str:
    return "file-" + random_base62(22)


def new_upload_id() -> str:
    return "upload_" + random_base62(24)


def new_upload_part_id() -> str:
    return "part_" + random_base62(24)


def new_job_id() -> str:
    return "ftjob-" + random_base62(24)


def new_event_id() -> str:
    return "ftevent-" + random_base62(24)


def new_checkpoint_id() -> str:
    return "ftckpt_" + random_base62(24)


def new_project_id() -> str:
    return "proj_" + random_base62(24)


def new_organization_id() -> str:
    return "org-" + random_base62(24)


def new_api_key() -> str:
    return "sk-ftg-" + random_base62(48)


def new_request_id() -> str:
    return "req_" + secrets.token_hex(16)


def fine_tuned_model_name(base: str, org_slug: str, suffix: str | None) -> str:
    """`ft:{base}:{org}:{suffix}:{id8}`; an absent suffix leaves the slot empty (`::`)."""
    return f"ft:{base}:{org_slug}:{suffix or ''}:{random_base62(8)}"


def new_chat_completion_id() -> str:
    return "chatcmpl-" + random_base62(29)


def new_tool_call_id() -> str:
    return "call_" + random_base62(24)


def new_eval_id() -> str:
    return "eval_" + random_base62(32)


def new_eval_run_id() -> str:
    return "evalrun_" + random_base62(32)


def new_output_item_id() -> str:
    return "outputitem_" + random_base62(32)
