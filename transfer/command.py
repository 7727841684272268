"""``rapport import``: a file into one account from the command line, with a progress bar."""

from __future__ import annotations

import io
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from model.clock import SystemClock
from store import accounts
from store.engine import create_engine
from transfer.contact_import import ImportFormat, ImportSummary, import_file

EXTENSIONS = {".vcf": ImportFormat.VCARD, ".vcard": ImportFormat.VCARD}


class UnknownAccount(LookupError):
    """No account has this email."""


def guess_format(path: Path) -> ImportFormat:
    """VCARD for .vcf and .vcard files, LINKEDIN_CSV otherwise (Connections.csv)."""
    return EXTENSIONS.get(path.suffix.lower(), ImportFormat.LINKEDIN_CSV)


async def import_data(
    database_url: str, email: str, data: bytes, fmt: ImportFormat, *, show_progress: bool = True
) -> ImportSummary:
    """Import a file's bytes into the account of ``email``."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            user = await accounts.find_user_by_email(conn, email=email.strip().lower())
        if user is None:
            raise UnknownAccount(email)
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, disable=not show_progress) as progress:
            # The file's entries are not known before it is read: count its cards (or rows).
            expected = _expected_entries(data, fmt)
            reading = progress.add_task("Reading", total=expected)
            writing = progress.add_task("Importing", total=expected, start=False)

            def read(done: int) -> None:
                progress.advance(reading, done)

            def write(done: int) -> None:
                progress.start_task(writing)
                progress.advance(writing, done)

            summary = await import_file(
                engine,
                user["id"],
                SystemClock(),
                io.BytesIO(data),
                fmt,
                reading=read,
                writing=write,
            )
            progress.update(reading, completed=expected)
            progress.update(writing, completed=expected)
        return summary
    finally:
        await engine.dispose()


def _expected_entries(data: bytes, fmt: ImportFormat) -> int:
    if fmt is ImportFormat.VCARD:
        return data.upper().count(b"BEGIN:VCARD")
    return max(data.count(b"\n") - 4, 0)
