"""Email senders: one interface, an SMTP implementation and a log implementation.

Like the push senders (notifications/sender.py): production sends through SMTP
(``aiosmtplib``); without ``RAPPORT_SMTP_HOST`` each email is logged instead of sent. The log
shows an email's text, which holds its single-use link, only when told to (development):
a production log must not hand out password resets.

Emails go out from an ``Outbox``, in the background: a request that asks for one answers at
once, as fast whether or not an email was sent (a password reset must not tell, by its
timing, whether an account exists), and an SMTP failure is logged, not shown to the client.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Literal, Protocol

import aiosmtplib

logger = logging.getLogger("rapport.mail")


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str


class MailNotSent(Exception):
    """The email was not accepted by the mail server."""


class Mailer(Protocol):
    async def send(self, email: Email) -> None:
        """Send one email, or raise MailNotSent."""
        ...


def mask_address(address: str) -> str:
    """Return enough of an address to tell emails apart in logs: a…@example.com."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}…@{domain}"


class LogMailer:
    """Log each email instead of sending it: the default when no SMTP server is set."""

    def __init__(self, *, show_text: bool = False) -> None:
        self.show_text = show_text

    async def send(self, email: Email) -> None:
        if self.show_text:
            logger.info(
                "email logged, not sent (development): to %s, %r\n%s",
                email.to,
                email.subject,
                email.text,
            )
        else:
            logger.info(
                "email logged, not sent (RAPPORT_SMTP_HOST is unset): to %s, %r",
                mask_address(email.to),
                email.subject,
            )


class SmtpMailer:
    """Send through an SMTP server, one connection per email (a few per user per hour)."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        security: Literal["starttls", "tls", "none"] = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.security = security
        self.username = username
        self.password = password
        self.timeout = timeout

    def build_message(self, email: Email) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = email.to
        message["Subject"] = email.subject
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        message.set_content(email.text)
        return message

    async def send(self, email: Email) -> None:
        try:
            await aiosmtplib.send(
                self.build_message(email),
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.security == "tls",
                start_tls=self.security == "starttls",
                timeout=self.timeout,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise MailNotSent(f"{type(exc).__name__}: {exc}") from exc


class Outbox:
    """Send emails in the background; ``drain`` waits for those under way (at shutdown)."""

    def __init__(self, mailer: Mailer) -> None:
        self.mailer = mailer
        self._sending: set[asyncio.Task[None]] = set()

    def post(self, email: Email) -> None:
        task = asyncio.create_task(self._send(email))
        # The loop keeps only weak references to tasks: hold each until it is done.
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, email: Email) -> None:
        try:
            await self.mailer.send(email)
        except MailNotSent as exc:
            logger.error("email to %s not sent: %s", mask_address(email.to), exc)

    async def drain(self) -> None:
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)
