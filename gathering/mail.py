"""Sending mail: a real SMTP server when MAIL_SERVER is set, the log otherwise.

Each mail is a pair of templates, ``templates/mail/<name>.txt`` (always) and
``<name>.html`` (optional), rendered in the current language. Sending happens after the
request's commit; a mail that cannot be sent is logged and never undoes the work it
reports (the manage page shows everything the mail would).
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid, parseaddr

from flask import current_app, render_template
from jinja2 import TemplateNotFound


def build_message(to: str, subject: str, template: str, **context) -> EmailMessage:
    """The message, rendered but not sent."""
    text = render_template(f"mail/{template}.txt", **context)
    try:
        html = render_template(f"mail/{template}.html", **context)
    except TemplateNotFound:
        html = None
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    name, address = parseaddr(sender)
    msg = EmailMessage()
    msg["From"] = formataddr((name, address)) if name else address
    msg["To"] = to
    # one line: a title stored with a line break before titles were folded must not make
    # the header refuse it (ValueError) and lose the mail
    msg["Subject"] = " ".join(str(subject).split())
    msg["Message-ID"] = make_msgid(domain=address.rpartition("@")[2] or None)
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    return msg


def send_mail(to: str, subject: str, template: str, **context) -> bool:
    """Render and send one mail; True when handed over (or logged), False on failure."""
    if not to:
        return False
    msg = build_message(to, subject, template, **context)
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        if not config.get("MAIL_LOG_BODIES", True):
            current_app.logger.warning("Mail not sent (no MAIL_SERVER set): To: %s | "
                                       "Subject: %s", to, subject)
            return True
        current_app.logger.info("Mail (no MAIL_SERVER set, not sent):\n%s",
                                msg.get_body(("plain",)).get_content()
                                if msg.is_multipart() else msg.get_content())
        current_app.logger.info("To: %s | Subject: %s", to, subject)
        return True
    try:
        deliver(msg)
    except (OSError, smtplib.SMTPException):
        current_app.logger.exception("Mail to %s could not be sent", to)
        return False
    return True


def deliver(msg: EmailMessage) -> None:
    """Hand a message to the configured SMTP server (raises on failure)."""
    config = current_app.config
    host, port = config["MAIL_SERVER"], config["MAIL_PORT"]
    timeout = config.get("MAIL_TIMEOUT", 10)
    if config.get("MAIL_USE_SSL"):
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout,
                                context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    with smtp:
        if config.get("MAIL_USE_TLS") and not config.get("MAIL_USE_SSL"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD", ""))
        smtp.send_message(msg)
