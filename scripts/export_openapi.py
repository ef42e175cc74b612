"""Write ftgate's own OpenAPI document to openapi/ftgate.json.

Usage: python scripts/export_openapi.py

The app is built but never started, so no database or queue is touched. Re-run it after any
change to a route or schema; tests/unit/test_openapi_document.py fails until you do.
"""

import json
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
OUTPUT = REPO_ROOT / "openapi" / "ftgate.json"


def build_document() -> str:
    """Return the document as the exact text written to OUTPUT."""
    from gateway.main import build_app
    from gateway.settings import Settings

    with tempfile.TemporaryDirectory() as data_dir:
        app = build_app(Settings(data_dir=Path(data_dir)))
        document = app.openapi()
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text(build_document(), encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO_ROOT))
    main()
