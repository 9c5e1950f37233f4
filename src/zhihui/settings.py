"""One Settings object: environment variables ``ZHIHUI_*`` over an optional ``zhihui.toml``."""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ZHIHUI_", toml_file="zhihui.toml", extra="ignore"
    )

    home: Path = Field(default=Path("var"), description="SQLite database and data files")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file under home"
    )
    secret_key: str | None = Field(
        default=None, description="signs web sessions; default: generated once under home"
    )
    site_title: str = "杭州市公共数据开放平台"
    site_url: str = "http://127.0.0.1:8000"
    default_language: str = "zh"
    max_request_bytes: int = 2 * 1024 * 1024
    # multipart uploads of data files (the datastore): CKAN resource_create/update, /api/v1
    max_upload_bytes: int = 4 * 1024 * 1024 * 1024
    # datastore uploads larger than this become background jobs (docs/datastore.md); 0: never
    ingest_background_bytes: int = 20 * 1024 * 1024
    # threads of each app process that run background jobs (0: only `zhihui data worker`)
    job_workers: int = 1
    token_days: int = 365
    # Behind a TLS-terminating proxy set this, so session cookies are Secure.
    https_only: bool = False

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'zhihui.db').resolve()}"

    @property
    def data_root(self) -> Path:
        return self.home / "data"

    @cached_property
    def session_secret(self) -> str:
        if self.secret_key:
            return self.secret_key
        path = self.home / "secret_key"
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


def get_settings() -> Settings:
    return Settings()
