"""Import and export: contacts from a vCard or LinkedIn file, the account as a zip archive."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.file_uploads import Upload
from strawberry.types import Info

from schema.context import Context
from schema.errors import VALIDATION, ValidationError, expect
from schema.write import run_call
from transfer import contact_import
from transfer.contact_import import ImportFormat, ImportSummary
from transfer.entry import MalformedFile as FileFault

strawberry.enum(
    ImportFormat,
    description="VCARD: vCard 3.0 or 4.0 (.vcf). LINKEDIN_CSV: LinkedIn's Connections.csv.",
)


@strawberry.input(description="A file sent as the GraphQL multipart request spec says.")
class ImportContactsInput:
    format: ImportFormat
    file: Upload


@strawberry.type(description="Something in the file left out; the rest of its entry imported.")
class ImportProblem:
    line: int = strawberry.field(description="The line the entry starts on (1 is the first).")
    message: str


@strawberry.type(
    description="Each entry of the file counted once: a new contact (created), added to a "
    "contact that existed or came earlier in the file (updated), or nothing new (skipped)."
)
class ImportResult:
    created: int
    updated: int
    skipped: int
    problems: list[ImportProblem]

    @staticmethod
    def from_summary(summary: ImportSummary) -> ImportResult:
        return ImportResult(
            created=summary.created,
            updated=summary.updated,
            skipped=summary.skipped,
            problems=[ImportProblem(line=p.line, message=p.message) for p in summary.problems],
        )


@strawberry.type(description="The file is not the format it was sent as; nothing was imported.")
class MalformedFile:
    message: str
    line: int = strawberry.field(description="The line to fix (1 is the first).")


@strawberry.type(
    description="Another import into your account is still running; nothing of this file was "
    "imported. Send it again once that one has finished."
)
class ImportInProgress:
    message: str


@strawberry.type(
    description="Where to download your export: GET the url once, within minutes; signing "
    "out the session that asked for it ends it too."
)
class ExportLink:
    url: str = strawberry.field(
        description="A path under this API's origin, e.g. /export/…; the link is the "
        "credential (no Authorization header needed), so keep it private."
    )
    expires_at: datetime


IMPORT_FAILURES = (
    VALIDATION
    | expect(
        FileFault,
        lambda exc: MalformedFile(message=f"Line {exc.line}: {exc.message}", line=exc.line),
    )
    | expect(
        contact_import.ImportRunning,
        lambda _: ImportInProgress(
            message="An import into this account is already running; send this file "
            "again when it has finished."
        ),
    )
)
ImportContactsResult = Annotated[
    ImportResult | MalformedFile | ValidationError | ImportInProgress,
    strawberry.union("ImportContactsResult"),
]


@strawberry.type
class TransferMutation:
    @strawberry.mutation(
        description="Import contacts from a file, in one transaction; importing the same file "
        "again changes nothing. One import per account runs at a time. Send it as a multipart "
        "request (docs/api.md, Import)."
    )
    async def import_contacts(
        self, info: Info[Context, None], input: ImportContactsInput
    ) -> ImportContactsResult:
        ctx = info.context
        owner_id = await ctx.owner_id()
        # Starlette's UploadFile: a spooled file (on disk past 1 MiB), read a line at a time.
        upload: Any = input.file
        return await run_call(
            lambda: contact_import.import_file(
                ctx.engine, owner_id, ctx.clock, upload.file, input.format
            ),
            ImportResult.from_summary,
            IMPORT_FAILURES,
        )

    @strawberry.mutation(
        description="A short-lived signed link to a zip of everything in your account: one "
        "JSON file per kind of data, contacts.vcf and calendar.ics (docs/api.md, Export)."
    )
    async def request_export(self, info: Info[Context, None]) -> ExportLink:
        ctx = info.context
        viewer = await ctx.viewer()
        assert ctx.export_links is not None, "the app sets export_links on every HTTP context"
        path, expires = ctx.export_links.issue(viewer.user_id, viewer.session_id)
        return ExportLink(url=path, expires_at=expires)
