"""The audit log (Art. 50: no leaking, tampering or destroying). Every change to data appends
an entry here in the same transaction as the change itself: no change without its entry."""

from zhihui.core.audit.service import digest, record

__all__ = ["digest", "record"]
