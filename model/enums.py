"""The closed sets of values the API and the sync protocol share, spelled as clients send them."""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    NEW = "NEW"
    ACQUAINTANCE = "ACQUAINTANCE"
    ACTIVE = "ACTIVE"
    CLOSE = "CLOSE"
    ARCHIVED = "ARCHIVED"


class Importance(StrEnum):
    LOW = "LOW"
    NORMAL = "NORMAL"
    HIGH = "HIGH"
    VIP = "VIP"


class Channel(StrEnum):
    EMAIL = "EMAIL"
    PHONE = "PHONE"
    SMS = "SMS"
    MESSAGING = "MESSAGING"
    VIDEO = "VIDEO"
    IN_PERSON = "IN_PERSON"


class InteractionKind(StrEnum):
    MEETING = "MEETING"
    CALL = "CALL"
    VIDEO = "VIDEO"
    EMAIL = "EMAIL"
    MESSAGE = "MESSAGE"
    MEAL = "MEAL"
    EVENT = "EVENT"
    NOTE = "NOTE"
    GIFT = "GIFT"
    INTRODUCTION = "INTRODUCTION"


class RepeatUnit(StrEnum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"
    YEAR = "YEAR"


class AttendeeStatus(StrEnum):
    PLANNED = "PLANNED"
    MET = "MET"


class Metric(StrEnum):
    MEET_NEW_PEOPLE = "MEET_NEW_PEOPLE"
    RECONNECT_DORMANT = "RECONNECT_DORMANT"
    MAKE_INTRODUCTIONS = "MAKE_INTRODUCTIONS"
    LOG_INTERACTIONS = "LOG_INTERACTIONS"
    ATTEND_EVENTS = "ATTEND_EVENTS"
    # Targets first met in the window (their first interaction or MET attendance).
    MEET_TARGETS = "MEET_TARGETS"


class Period(StrEnum):
    WEEK = "WEEK"
    MONTH = "MONTH"
    QUARTER = "QUARTER"
    YEAR = "YEAR"
    CUSTOM = "CUSTOM"
