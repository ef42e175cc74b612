"""Bring a database to the newest schema with the repository's Alembic scripts."""

from pathlib import Path

from alembic.config import Config

from alembic import command

ALEMBIC_DIR = Path(__file__).resolve().parent.parent / "alembic"


def upgrade(database_url: str) -> None:
    """Run from synchronous code only: Alembic's env.py starts its own event loop."""
    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    command.upgrade(config, "head")
