"""/dashboard: the dashboard's static files, served by the gateway itself.

Nothing here reads a key or the database: the pages call the same /v1 endpoints as any
client, with the key the user signed in with (kept in the browser tab's session storage).
Paths without a file of their own (`/dashboard/jobs/ftjob-…`) get `index.html`, whose script
routes them in the browser.
"""

from pathlib import Path

from fastapi import APIRouter

STATIC_DIR = Path(__file__).parent / "static"

router = APIRouter()
router.frontend("/dashboard", directory=STATIC_DIR, fallback="index.html")
