"""The error taxonomy. Services raise these; the web layer maps them once to HTTP codes and to
messages in the user's language (zh default, en). Messages are catalogue keys, never prose."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from zhihui.core.i18n import translate


@dataclass(frozen=True)
class Message:
    """A translatable message: a catalogue key and its parameters."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def render(self, lang: str) -> str:
        return translate(self.key, lang, **self.params)


class ZhihuiError(Exception):
    status: int = 400
    # CKAN's error.__type, so the Action API speaks CKAN's language.
    ckan_type: str = "Validation Error"
    default_key: str = "error.bad_request"

    def __init__(
        self,
        key: str | None = None,
        /,
        fields: dict[str, list[Message]] | None = None,
        **params: Any,
    ) -> None:
        self.message = Message(key or self.default_key, params)
        self.fields = fields or {}
        super().__init__(self.message.key)

    def render(self, lang: str) -> str:
        return self.message.render(lang)

    def render_fields(self, lang: str) -> dict[str, list[str]]:
        return {name: [m.render(lang) for m in msgs] for name, msgs in self.fields.items()}


class BadRequest(ZhihuiError):
    status = 400
    ckan_type = "Validation Error"
    default_key = "error.bad_request"


class NotAuthenticated(ZhihuiError):
    status = 401
    ckan_type = "Authorization Error"
    default_key = "error.not_authenticated"


class Forbidden(ZhihuiError):
    status = 403
    ckan_type = "Authorization Error"
    default_key = "error.forbidden"


class NotFound(ZhihuiError):
    status = 404
    ckan_type = "Not Found Error"
    default_key = "error.not_found"


class ValidationFailed(ZhihuiError):
    """Input that breaks a rule; ``fields`` says which field and why (CKAN: 409)."""

    status = 409
    ckan_type = "Validation Error"
    default_key = "error.validation"


class Conflict(ZhihuiError):
    status = 409
    ckan_type = "Validation Error"
    default_key = "error.conflict"


class TooLarge(ZhihuiError):
    status = 413
    ckan_type = "Validation Error"
    default_key = "error.too_large"


class TooManyRequests(ZhihuiError):
    """A quota or rate limit is used up (e.g. an opening grant's daily calls)."""

    status = 429
    ckan_type = "Authorization Error"
    default_key = "error.too_many_requests"


class FieldErrors:
    """Collects field messages, then raises ValidationFailed once with all of them."""

    def __init__(self) -> None:
        self.fields: dict[str, list[Message]] = {}

    def add(self, name: str, key: str, **params: Any) -> None:
        self.fields.setdefault(name, []).append(Message(key, params))

    def __bool__(self) -> bool:
        return bool(self.fields)

    def raise_if_any(self) -> None:
        if self.fields:
            raise ValidationFailed(fields=self.fields)
