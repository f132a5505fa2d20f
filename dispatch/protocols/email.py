"""EMAIL: an e-mail through Django's SMTP backend (settings host/port, credentials username/password)."""
import json
import smtplib
import socket
from email.utils import make_msgid

from django.conf import settings as django_settings
from django.core.mail import EmailMessage
from django.core.mail.backends.smtp import EmailBackend

from dispatch.protocols.base import HealthReport, Protocol, ProviderError, ProviderReceipt, Stopwatch
from dispatch.protocols.gateway import recipient

SMTP_ERRORS = (smtplib.SMTPException, OSError, socket.timeout)


def backend_for(config):
    settings = config.settings
    return EmailBackend(
        host=settings.get("host") or "localhost",
        port=int(settings.get("port") or 25),
        username=config.credentials.get("username") or None,
        password=config.credentials.get("password") or None,
        use_tls=bool(settings.get("useTls", False)),
        use_ssl=bool(settings.get("useSsl", False)),
        timeout=django_settings.DISPATCH_HTTP_TIMEOUT,
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
            raise ProviderError(f"SMTP delivery failed: {exc.__class__.__name__}: {exc}", code="SMTP_ERROR") from None
        if not sent:
            raise ProviderError("The SMTP server accepted no message", code="SMTP_ERROR")
        return ProviderReceipt(provider_activity_id=message_id)

    def check(self, config):
        watch = Stopwatch()
        backend = backend_for(config)
        try:
            backend.open()
        except SMTP_ERRORS as exc:
            return HealthReport(ok=False, latency_ms=watch.ms, error=f"{exc.__class__.__name__}: {exc}")
        finally:
            backend.close()
        return HealthReport(ok=True, latency_ms=watch.ms)
