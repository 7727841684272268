"""The GraphQL schema: types, queries, mutations, limits."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from reads.extension import CompileReads
from reads.pull import CompilePull
from schema import (
    account,
    colleague,
    colleague_share,
    duplicates,
    followup,
    insight,
    mutation,
    networking,
    notifications,
    offer,
    query,
    reminders,
    summary,
    sync,
    target,
    transfer,
)
from schema.arguments import guard_arguments
from schema.errors import MaskUnexpectedErrors
from schema.limits import build_extensions

Query = merge_types(
    "Query",
    (
        query.Query,
        sync.SyncQuery,
        notifications.NotificationQuery,
        reminders.ReminderQuery,
        insight.InsightQuery,
        networking.NetworkingQuery,
        summary.SummaryQuery,
        followup.FollowUpQuery,
        account.AccountQuery,
        duplicates.DuplicateQuery,
        colleague.ColleagueQuery,
        colleague_share.ColleagueShareQuery,
        target.TargetQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        mutation.Mutation,
        sync.SyncMutation,
        notifications.NotificationMutation,
        reminders.ReminderMutation,
        insight.InsightMutation,
        networking.NetworkingMutation,
        account.AccountMutation,
        duplicates.DuplicateMutation,
        transfer.TransferMutation,
        colleague.ColleagueMutation,
        colleague_share.ColleagueShareMutation,
        offer.OfferMutation,
    ),
)

# Every argument of every field passes the text and date rules; a push's mutations are judged
# one by one by the write path instead (one bad mutation is REJECTED, the rest still apply).
guard_arguments((Query, Mutation, sync.SyncSubscription), skip=(sync.SyncMutationInput,))


class RapportSchema(strawberry.Schema):
    def process_errors(self, errors: Any, execution_context: Any = None) -> None:
        # Strawberry logs every error with a traceback; expected ones (bad input, no token) are
        # answers, not faults, and MaskUnexpectedErrors logs the rest with the request id.
        return


def build_schema(
    *,
    max_depth: int = 10,
    max_aliases: int = 15,
    max_tokens: int = 2000,
    introspection: bool = True,
) -> strawberry.Schema:
    """Build the schema with its limits; call once per process."""
    return RapportSchema(
        query=Query,
        mutation=Mutation,
        subscription=sync.SyncSubscription,
        extensions=[
            *build_extensions(
                max_depth=max_depth,
                max_aliases=max_aliases,
                max_tokens=max_tokens,
                introspection=introspection,
            ),
            # No-ops unless the request's context carries compiled_reads. A pull is answered
            # first, and CompileReads leaves an answered operation alone.
            CompilePull,
            CompileReads,
            MaskUnexpectedErrors,
        ],
        config=StrawberryConfig(auto_camel_case=True),
    )
