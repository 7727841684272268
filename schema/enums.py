"""The GraphQL enums, registered before any type uses them.

They are the write path's and the store's own enum classes; registering them here, once,
gives them their descriptions (a type that met an enum first would register it bare).
"""

from __future__ import annotations

import strawberry

from model.enums import Channel, Importance, InteractionKind, Stage
from store.contacts import ContactOrder

strawberry.enum(Stage, description="Where a relationship stands.")
strawberry.enum(Importance, description="How much this relationship matters.")
strawberry.enum(Channel, description="How a contact prefers to be reached.")
strawberry.enum(InteractionKind, description="What kind of contact it was.")
strawberry.enum(ContactOrder, description="How to order contacts.")

__all__ = ["Channel", "ContactOrder", "Importance", "InteractionKind", "Stage"]
