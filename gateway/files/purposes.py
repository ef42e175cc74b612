"""File purposes and the rules tied to them."""

from gateway.errors import InvalidRequest

FINE_TUNE = "fine-tune"
BATCH = "batch"
EVALS = "evals"

UPLOADABLE = ("assistants", BATCH, FINE_TUNE, "vision", "user_data", EVALS)
JSONL_ONLY = (FINE_TUNE, EVALS)

BATCH_DEFAULT_EXPIRY_SECONDS = 30 * 24 * 3600
MIN_EXPIRY_SECONDS = 3600
MAX_EXPIRY_SECONDS = 30 * 24 * 3600


def require_uploadable(purpose: str | None) -> str:
    if not purpose:
        raise InvalidRequest("Missing required parameter: 'purpose'.", param="purpose")
    if purpose not in UPLOADABLE:
        allowed = ", ".join(f"'{p}'" for p in UPLOADABLE)
        raise InvalidRequest(
            f"Invalid value for 'purpose': '{purpose}'. Supported values are: {allowed}.",
            param="purpose",
            code="invalid_value",
        )
    return purpose


MAX_FILENAME_CHARS = 512


def require_storable_name(filename: str) -> None:
    if not filename or len(filename) > MAX_FILENAME_CHARS or "\x00" in filename:
        raise InvalidRequest(
            f"Invalid filename: it must be 1 to {MAX_FILENAME_CHARS} characters without NUL.", param="file"
        )


def require_jsonl_name(filename: str, purpose: str = FINE_TUNE) -> None:
    if not filename.lower().endswith(".jsonl"):
        api = "Fine-Tuning API" if purpose == FINE_TUNE else "Evals API"
        raise InvalidRequest(f"Invalid file format for {api}. Must be .jsonl", param="file")


def expiry_seconds(purpose: str, fields: dict[str, str]) -> int | None:
    """Seconds until expiry from `expires_after[anchor]` / `expires_after[seconds]`, if any."""
    anchor = fields.get("expires_after[anchor]")
    seconds = fields.get("expires_after[seconds]")
    if anchor is None and seconds is None:
        return BATCH_DEFAULT_EXPIRY_SECONDS if purpose == BATCH else None
    if anchor != "created_at":
        raise InvalidRequest(
            "Invalid value for 'expires_after[anchor]': must be 'created_at'.",
            param="expires_after[anchor]",
        )
    value = int(seconds) if seconds is not None and seconds.isascii() and seconds.isdigit() else -1
    if not MIN_EXPIRY_SECONDS <= value <= MAX_EXPIRY_SECONDS:
        raise InvalidRequest(
            f"Invalid value for 'expires_after[seconds]': expected an integer between "
            f"{MIN_EXPIRY_SECONDS} and {MAX_EXPIRY_SECONDS}.",
            param="expires_after[seconds]",
        )
    return value


def check_fields(fields: dict[str, str], filename: str) -> tuple[str, int | None]:
    """The purpose and expiry an upload asks for, refusing what OpenAI refuses."""
    purpose = require_uploadable(fields.get("purpose"))
    require_storable_name(filename)
    if purpose in JSONL_ONLY:
        require_jsonl_name(filename, purpose)
    return purpose, expiry_seconds(purpose, fields)
