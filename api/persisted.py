"""Automatic persisted queries, as Apollo's clients speak them (docs/api.md, "Persisted queries").

A request names its document by ``extensions.persistedQuery = {"version": 1, "sha256Hash": …}``.
Hash only: the stored text runs, or the answer is ``PersistedQueryNotFound`` and the client
resends with the text. Hash and text: the hash must be the text's SHA-256; the view stores the
text once it has run (``remember``), so documents that do not parse or validate are never kept.

The store is per process and in memory: a document lost to a restart, another worker or an
eviction costs the client one more round trip, never a wrong answer. It is bounded by count and
by bytes, least recently used first out.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_MAX_DOCUMENTS = 10_000
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
VERSION = 1


class PersistedQueryNotFound(Exception):
    """The hash names no stored document: resend it with its query."""


class PersistedQueryNotSupported(Exception):
    """This server keeps no persisted queries: send the query itself."""


class BadPersistedQuery(Exception):
    """The persistedQuery extension is malformed, of another version, or its hash is wrong."""


@dataclass(frozen=True)
class PersistedQuery:
    """A request's persistedQuery extension, read and checked."""

    sha256_hash: str
    # Whether the request carried the text itself (then the view stores it once it ran).
    sent_query: bool


class DocumentCache:
    """A least-recently-used map of hash to document text, bounded by count and total bytes."""

    def __init__(
        self, *, max_documents: int = DEFAULT_MAX_DOCUMENTS, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self.max_documents = max_documents
        self.max_bytes = max_bytes
        self.bytes = 0
        self._documents: OrderedDict[str, tuple[str, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._documents)

    def get(self, sha256_hash: str) -> str | None:
        """Return the document stored under ``sha256_hash``, marking it recently used."""
        entry = self._documents.get(sha256_hash)
        if entry is None:
            return None
        self._documents.move_to_end(sha256_hash)
        return entry[0]

    def put(self, sha256_hash: str, query: str) -> None:
        """Store ``query``, evicting the least recently used documents over the bounds."""
        size = len(query.encode()) + len(sha256_hash)
        if size > self.max_bytes or self.max_documents < 1:
            return  # would evict everything and still not fit
        old = self._documents.pop(sha256_hash, None)
        if old is not None:
            self.bytes -= old[1]
        self._documents[sha256_hash] = (query, size)
        self.bytes += size
        while len(self._documents) > self.max_documents or self.bytes > self.max_bytes:
            _, (_, evicted) = self._documents.popitem(last=False)
            self.bytes -= evicted


def hash_query(query: str) -> str:
    """Return the hex SHA-256 of ``query``'s UTF-8 bytes, as Apollo's clients compute it."""
    return hashlib.sha256(query.encode()).hexdigest()


def read_extension(extensions: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """Return the request's persistedQuery extension, or None when it has none."""
    if not extensions or extensions.get("persistedQuery") is None:
        return None
    value = extensions["persistedQuery"]
    if not isinstance(value, Mapping):
        raise BadPersistedQuery(
            'extensions.persistedQuery must be an object: {"version": 1, "sha256Hash": "…"}.'
        )
    return value


def resolve_query(
    cache: DocumentCache | None, extension: Mapping[str, Any], query: str | None
) -> tuple[str, PersistedQuery]:
    """Return the text to run for a request with a persistedQuery extension."""
    if cache is None or cache.max_documents < 1:
        raise PersistedQueryNotSupported
    version = extension.get("version")
    if version != VERSION or isinstance(version, bool):
        raise BadPersistedQuery(
            f"Unsupported persisted query version {version!r}: this server speaks version 1."
        )
    sha256_hash = extension.get("sha256Hash")
    if not isinstance(sha256_hash, str):
        raise BadPersistedQuery("extensions.persistedQuery.sha256Hash must be a string.")
    # Hex is case-blind; the store keys on lower case, as hexdigest writes it.
    sha256_hash = sha256_hash.lower()
    if query is None:
        stored = cache.get(sha256_hash)
        if stored is None:
            raise PersistedQueryNotFound
        return stored, PersistedQuery(sha256_hash, sent_query=False)
    try:
        hashed = hash_query(query)
    except UnicodeEncodeError:
        # An unpaired surrogate (\uD800) has no UTF-8 bytes to hash, nor is it GraphQL text.
        raise BadPersistedQuery(
            "The query holds an unpaired surrogate (such as \\uD800): send it as UTF-8 text."
        ) from None
    if hashed != sha256_hash:
        raise BadPersistedQuery("provided sha does not match query")
    return query, PersistedQuery(sha256_hash, sent_query=True)


__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DOCUMENTS",
    "BadPersistedQuery",
    "DocumentCache",
    "PersistedQuery",
    "PersistedQueryNotFound",
    "PersistedQueryNotSupported",
    "hash_query",
    "read_extension",
    "resolve_query",
]
