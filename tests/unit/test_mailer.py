"""The email senders without a mail server: what the log shows, and a server that is down."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from api.mailer import Email, LogMailer, Outbox, SmtpMailer
from api.self_service import build_mailer
from tests.conftest import free_port, make_settings

RESET = Email(
    to="ada@example.com",
    subject="Reset your Rapport password",
    text="Choose a new password: https://app.example.com/reset-password?token=SECRET-TOKEN",
)


async def test_the_log_shows_links_in_development_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="rapport.mail")
    await LogMailer(show_text=False).send(RESET)
    assert "Reset your Rapport password" in caplog.text
    assert "SECRET-TOKEN" not in caplog.text
    assert "ada@example.com" not in caplog.text  # the address is cut short too
    caplog.clear()
    await LogMailer(show_text=True).send(RESET)
    assert "SECRET-TOKEN" in caplog.text


def test_the_settings_choose_the_sender(tmp_path: Path) -> None:
    production = build_mailer(make_settings(tmp_path, server={"env": "production"}))
    assert isinstance(production, LogMailer)
    assert not production.show_text
    development = build_mailer(make_settings(tmp_path))
    assert isinstance(development, LogMailer)
    assert development.show_text
    smtp = build_mailer(
        make_settings(tmp_path, mail={"smtp_host": "mail.example.com", "smtp_port": 465})
    )
    assert isinstance(smtp, SmtpMailer)
    assert smtp.port == 465


async def test_a_mail_server_that_is_down_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Nothing listens on a port just found free.
    mailer = SmtpMailer(
        host="127.0.0.1", port=free_port(), sender="no-reply@example.com", security="none"
    )
    outbox = Outbox(mailer)
    outbox.post(RESET)
    await outbox.drain()
    assert "email to a…@example.com not sent" in caplog.text
    assert "SECRET-TOKEN" not in caplog.text
