"""Builds what password reset, email change and verification, and the calendar feed need."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher, profiles
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.routing import Route

from api.auth import Authenticator
from api.calendar_feed import CalendarFeeds
from api.email_change import EmailChange
from api.email_verification import EmailVerification
from api.mailer import LogMailer, Mailer, Outbox, SmtpMailer
from api.reset import MailLimits, PasswordReset
from api.settings import Settings
from api.throttle import Limit
from model.clock import Clock
from schema.account import SelfService


@dataclass(frozen=True)
class Built:
    services: SelfService
    outbox: Outbox
    routes: list[Route]


def build_mailer(settings: Settings) -> Mailer:
    """SMTP when RAPPORT_SMTP_HOST is set; otherwise a log (with links in development only)."""
    mail = settings.mail
    if mail.smtp_host is None:
        return LogMailer(show_text=settings.development)
    return SmtpMailer(
        host=mail.smtp_host,
        port=mail.smtp_port,
        sender=mail.mail_from,
        security=mail.smtp_security,
        username=mail.smtp_username,
        password=(mail.smtp_password.get_secret_value() if mail.smtp_password else None),
        timeout=mail.smtp_timeout_seconds,
    )


def build_self_service(
    settings: Settings,
    *,
    engine: AsyncEngine,
    clock: Clock,
    authenticator: Authenticator,
    mailer: Mailer | None = None,
) -> Built:
    outbox = Outbox(mailer or build_mailer(settings))
    mail = settings.mail
    period = timedelta(seconds=mail.period_seconds)
    limits = MailLimits(
        engine=engine,
        per_email=Limit(mail.email_limit, period),
        per_address=Limit(mail.address_limit, period),
    )
    cheap = settings.auth.password_hash_profile == "cheapest"  # noqa: S105
    hasher = PasswordHasher.from_parameters(
        profiles.CHEAPEST if cheap else profiles.RFC_9106_LOW_MEMORY
    )
    app_url = mail.app_url.rstrip("/")
    resets = PasswordReset(
        engine=engine,
        clock=clock,
        outbox=outbox,
        hasher=hasher,
        limits=limits,
        ttl=timedelta(minutes=mail.password_reset_ttl_minutes),
        link=f"{app_url}/reset-password",
        # The authenticator's own session cache and password check (with its sign-in limit).
        forget_user=authenticator.bearer.forget_user,
    )
    email_changes = EmailChange(
        engine=engine,
        clock=clock,
        outbox=outbox,
        limits=limits,
        check_password=authenticator.check_password,
        ttl=timedelta(hours=mail.email_change_ttl_hours),
        link=f"{app_url}/confirm-email",
    )
    verifications = EmailVerification(
        engine=engine,
        clock=clock,
        outbox=outbox,
        limits=limits,
        ttl=timedelta(hours=mail.email_change_ttl_hours),
        link=f"{app_url}/verify-email",
    )
    feeds = CalendarFeeds(
        engine=engine, clock=clock, key=settings.signing_key(), public_url=mail.public_url
    )
    return Built(SelfService(resets, email_changes, verifications, feeds), outbox, feeds.routes())
