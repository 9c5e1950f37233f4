"""The audit log (Art. 50: no leaking, tampering or destroying). Every change to data appends
an entry here in the same transaction as the change itself: no change without its entry; reads
of data append too (``record_read``). The entries are the leaves of an RFC 9162 Merkle tree
whose signed checkpoints and proofs anyone can check (docs/audit.md)."""

from zhihui.core.audit.service import digest, record, record_many, record_read

__all__ = ["digest", "record", "record_many", "record_read"]
