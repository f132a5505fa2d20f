"""EMAIL: an e-mail through Django's SMTP backend (settings host/port, credentials username/password).

The SMTP host is vetted like any outbound URL (reten.urlsafety), at connect time against the address dialled;
the server's replies stay in the server log: errors carry the SMTP reply code and an error code only.
"""
import json
import logging
import smtplib
import socket
from email.utils import make_msgid

from django.conf import settings as django_settings
from django.core.mail import EmailMessage
from django.core.mail.backends.smtp import EmailBackend

from dispatch.protocols.base import HealthReport, Protocol, ProviderError, ProviderReceipt, Stopwatch
from dispatch.protocols.gateway import recipient
from reten import urlsafety
from reten.http import effective_timeout

logger = logging.getLogger("reten.dispatch")

SMTP_ERRORS = (smtplib.SMTPException, OSError, socket.timeout, urlsafety.UrlNotAllowed)


class _VettedConnect:
    """Connect only to addresses reten.urlsafety allows; TLS still checks the certificate against the host name."""

    def _get_socket(self, host, port, timeout):
        last_error = None
        for address in urlsafety.vetted_addresses(host, port):
            try:
                return super()._get_socket(address, port, timeout)
            except OSError as exc:
                last_error = exc
        raise last_error


class VettedSMTP(_VettedConnect, smtplib.SMTP):
    pass


class VettedSMTPSSL(_VettedConnect, smtplib.SMTP_SSL):
    pass


class VettedEmailBackend(EmailBackend):
    @property
    def connection_class(self):
        return VettedSMTPSSL if self.use_ssl else VettedSMTP


def smtp_failure(exc, config):
    """A ProviderError with a stable code and the SMTP reply code; the server's words go to the log only."""
    reply_code = getattr(exc, "smtp_code", None)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        reply_code = next((code for code, _ in exc.recipients.values()), None)
    logger.warning("SMTP server of dispatch config %s failed: %s", config.id,
                   config.scrub(f"{exc.__class__.__name__}: {exc}")[:500])
    if isinstance(exc, urlsafety.UrlNotAllowed):
        return ProviderError(f"The SMTP host is not allowed: {exc.reason}", code="URL_NOT_ALLOWED")
    if isinstance(exc, socket.timeout):
        return ProviderError("Timed out talking to the SMTP server", code="TIMEOUT")
    if isinstance(exc, ConnectionRefusedError):
        return ProviderError("The SMTP server refused the connection", code="CONNECTION_REFUSED")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return ProviderError(f"The SMTP server refused the login (reply {reply_code})", code="SMTP_AUTH_FAILED")
    if isinstance(exc, smtplib.SMTPException):
        suffix = f" (reply {reply_code})" if reply_code else ""
        return ProviderError(f"The SMTP server refused the message{suffix}", code="SMTP_ERROR")
    return ProviderError(f"Could not talk to the SMTP server ({exc.__class__.__name__})", code="CONNECTION_ERROR")


def backend_for(config):
    settings = config.settings
    return VettedEmailBackend(
        host=settings.get("host") or "localhost",
        port=int(settings.get("port") or 25),
        username=config.credentials.get("username") or None,
        password=config.credentials.get("password") or None,
        use_tls=bool(settings.get("useTls", False)),
        use_ssl=bool(settings.get("useSsl", False)),
        timeout=effective_timeout(django_settings.DISPATCH_HTTP_TIMEOUT),
        fail_silently=False,
    )


def sender(config):
    return config.settings.get("fromEmail") or config.credentials.get("username") or django_settings.DEFAULT_FROM_EMAIL


def render_body(payload):
    lines = [payload.get("reason") or ""]
    commerce = payload.get("commerce") or {}
    if commerce.get("name"):
        lines.append(f"\nCommerce: {commerce['name']}")
    for key, value in (payload.get("attributes") or {}).items():
        rendered = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        lines.append(f"{key}: {rendered}")
    return "\n".join(lines)


class EmailProtocol(Protocol):
    name = "EMAIL"
    requires_base_url = False

    def send(self, payload, config):
        to = recipient(payload, ("EMAIL",))
        if not to:
            raise ProviderError("No EMAIL contact among the target users", code="NO_RECIPIENT")
        from_email = sender(config)
        domain = from_email.rpartition("@")[2] or None
        message_id = make_msgid(domain=domain)
        subject = config.settings.get("subject") or (payload.get("reason") or "")[:120]
        message = EmailMessage(subject=subject, body=render_body(payload), from_email=from_email, to=[to],
                               headers={"Message-ID": message_id, "X-Reten-Activity-Id": str(payload["activityId"])})
        try:
            sent = backend_for(config).send_messages([message])
        except SMTP_ERRORS as exc:
            raise smtp_failure(exc, config) from None
        if not sent:
            raise ProviderError("The SMTP server accepted no message", code="SMTP_ERROR")
        return ProviderReceipt(provider_activity_id=message_id)

    def check(self, config):
        watch = Stopwatch()
        backend = backend_for(config)
        try:
            backend.open()
        except SMTP_ERRORS as exc:
            failure = smtp_failure(exc, config)
            return HealthReport(ok=False, latency_ms=watch.ms, error=failure.message, error_code=failure.code)
        finally:
            backend.close()
        return HealthReport(ok=True, latency_ms=watch.ms)
