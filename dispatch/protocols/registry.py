"""Which protocol serves a provider: its own implementation by code if it has one, else by protocol type."""
from dispatch.models import ProtocolType
from dispatch.protocols.email import EmailProtocol
from dispatch.protocols.gateway import SmsProtocol, WhatsappProtocol
from dispatch.protocols.mock import MockProtocol
from dispatch.protocols.rest import RestProtocol
from dispatch.protocols.webhook import WebhookProtocol

BY_PROVIDER_CODE = {
    "YOM": RestProtocol(),
    "MOCK": MockProtocol(),
}
BY_PROTOCOL_TYPE = {
    ProtocolType.REST: RestProtocol(),
    ProtocolType.WEBHOOK: WebhookProtocol(),
    ProtocolType.EMAIL: EmailProtocol(),
    ProtocolType.SMS: SmsProtocol(),
    ProtocolType.WSP: WhatsappProtocol(),
}


def register(*, provider_code=None, protocol_type=None, protocol):
    """Plug in a protocol object (an instance with send/check) for a provider code or a protocol type."""
    if provider_code:
        BY_PROVIDER_CODE[provider_code] = protocol
    if protocol_type:
        BY_PROTOCOL_TYPE[protocol_type] = protocol


def protocol_for(*, provider_code, protocol_type):
    protocol = BY_PROVIDER_CODE.get(provider_code) or BY_PROTOCOL_TYPE.get(protocol_type)
    if protocol is None:
        raise LookupError(f"No protocol for provider {provider_code!r} ({protocol_type})")
    return protocol
