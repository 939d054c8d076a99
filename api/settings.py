"""All configuration in one place, read from the environment (and an optional .env file)."""

from functools import lru_cache

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # SQLite in the working directory by default; PostgreSQL in production.
    database_url: str = "sqlite:///./capital.db"
    # Upper bounds a caller may ask of the optimiser through the API.
    max_time_limit_s: float = 600.0
    default_time_limit_s: float = 60.0
    default_mip_gap: float = 1e-4
    # Jobs: threads solving parts inside the server (SQLite; 0 = one per CPU); on PostgreSQL,
    # how often workers send heartbeats and after how long without one a part is retried.
    job_threads: int = 0
    job_heartbeat_s: float = 2.0
    job_stalled_after_s: float = 10.0
    # PostgreSQL: every `job_sweep_every_s` seconds (1-59) a worker looks for unfinished jobs
    # older than `job_sweep_after_s` with parts that no queued task will ever solve (the
    # server died between committing the job and queueing it, a task was lost) and re-queues
    # them, or fails the job with the reason.
    job_sweep_every_s: int = 10
    job_sweep_after_s: float = 30.0
    # Largest request body accepted (413 beyond): room for a 50,000-row scheme import.
    max_body_bytes: int = 32 * 1024 * 1024

    @field_validator("database_url")
    @classmethod
    def _a_database_we_run_on(cls, value: str) -> str:
        # Said at start-up in words, not as SQLAlchemy's error from deep inside the first query.
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            backend = make_url(value).get_backend_name()
        except ArgumentError:
            backend = None
        if backend not in ("sqlite", "postgresql"):
            raise ValueError("use sqlite:///path/to/file.db or postgresql+psycopg://user@host/db")
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
