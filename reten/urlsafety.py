"""Which outbound URLs Reten may call (SPEC 10, "Outbound URLs"): the one place that decides.

A URL is allowed when it is http(s) (https outside DEBUG unless RETEN_ALLOW_INSECURE_URLS), its host is
spelled canonically, is no cloud-metadata name, and every address it resolves to is public. The same address
check runs again at connect time (reten/http.py), against the addresses actually dialled, so a name that
resolves elsewhere later (DNS rebinding) or a URL stored while the checks were off is still refused.
RETEN_ALLOW_PRIVATE_URLS lifts the address checks (development, and the test suite's stubs on 127.0.0.1);
metadata names and addresses and odd numeric spellings stay refused even then.
"""
import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from reten.errors import ValidationFailed

ALLOWED_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
METADATA_HOSTS = frozenset({
    "metadata", "metadata.google.internal", "metadata.goog", "metadata.azure.internal", "instance-data",
    "instance-data.ec2.internal",
})
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "169.254.169.123", "fd00:ec2::254", "100.100.100.200",
))
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


class UrlNotAllowed(ValueError):
    """This URL (or an address its host resolves to) may not be called. `reason` is safe to show the caller."""

    code = "URL_NOT_ALLOWED"

    def __init__(self, reason):
        self.reason = reason
        super().__init__(reason)


def private_urls_allowed():
    return bool(getattr(settings, "RETEN_ALLOW_PRIVATE_URLS", False))


def insecure_urls_allowed():
    return bool(settings.DEBUG or getattr(settings, "RETEN_ALLOW_INSECURE_URLS", False))


def resolve_host(host, port):
    """Every address `host` resolves to, as the connecting library would resolve it (libc getaddrinfo,
    which also reads 2130706433 or 0x7f000001 as 127.0.0.1). Tests replace this to simulate DNS."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


def _embedded_ipv4(address):
    """The IPv4 address an IPv6 form carries (mapped, compatible, NAT64, 6to4, Teredo), or None."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in NAT64 or (address in IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _metadata_reason(address):
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.version == 6:
        inner = _embedded_ipv4(address)
        if inner is not None and inner in METADATA_ADDRESSES:
            return "a cloud metadata address"
    return None


def address_problem(address):
    """Why this one IP address is not public, or None when it is."""
    if isinstance(address, str):
        address = ipaddress.ip_address(address.split("%", 1)[0])
    if metadata := _metadata_reason(address):
        return metadata
    if address.version == 6:
        inner = _embedded_ipv4(address)
        if inner is not None:
            problem = address_problem(inner)
            return f"an IPv6 form of {problem}" if problem else None
    checks = (
        (address.is_loopback, "a loopback address"),
        (address.is_unspecified, "an unspecified address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.version == 4 and address in CGNAT, "a shared (CGNAT) address"),
        (address.version == 6 and address in ipaddress.ip_network("fc00::/7"), "a unique-local address"),
        (address.is_private, "a private address"),
        (address.is_reserved, "a reserved address"),
        (not address.is_global, "a non-public address"),
    )
    for failed, reason in checks:
        if failed:
            return reason
    return None


def check_addresses(addresses):
    """Refuse unless every address is allowed (metadata always; the rest unless private URLs are allowed)."""
    if not addresses:
        raise UrlNotAllowed("the host does not resolve")
    for address in addresses:
        problem = address_problem(address)
        if problem is None:
            continue
        if private_urls_allowed() and problem != "a cloud metadata address":
            continue
        raise UrlNotAllowed(f"the host resolves to {problem}")


def _literal_address(host):
    """The host as an IP address if it is written as one (canonically); refuses other numeric spellings."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        socket.inet_aton(host)
    except OSError:
        return None
    # libc reads 2130706433, 0x7f000001, 0177.0.0.1 or 127.1 as an address: never a provider's real spelling.
    raise UrlNotAllowed("the host is a numeric address in a non-standard spelling")


def split_url(url):
    """(scheme, host, port) of an http(s) URL, lower-cased, the default port filled in. Raises UrlNotAllowed."""
    if not isinstance(url, str) or not url.strip():
        raise UrlNotAllowed("a URL is required")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise UrlNotAllowed("the URL cannot be parsed") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise UrlNotAllowed("only http and https URLs are allowed")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise UrlNotAllowed("the URL has no host")
    return scheme, host, port or DEFAULT_PORTS[scheme]


def origin_of(url):
    """(scheme, host, port) or None when the URL is not a usable http(s) URL: what credentials are bound to."""
    try:
        return split_url(url)
    except UrlNotAllowed:
        return None


def vetted_addresses(host, port):
    """Resolve `host` and check every address it gives: the addresses to dial. Raises UrlNotAllowed when one is
    not allowed, OSError (socket.gaierror) when the host does not resolve."""
    host = host.rstrip(".").lower()
    if host in METADATA_HOSTS:
        raise UrlNotAllowed("the host is a cloud metadata service")
    literal = _literal_address(host)
    addresses = [str(literal)] if literal is not None else list(dict.fromkeys(resolve_host(host, port)))
    check_addresses(addresses)
    return addresses


def check_host(host, port):
    """Refuse a host (name or literal) unless every address it resolves to is allowed."""
    if private_urls_allowed():
        # Address checks lifted: no need to resolve now. Metadata names and numeric spellings stay refused,
        # and the connect-time check still refuses a name that turns out to resolve to a metadata address.
        host = host.rstrip(".").lower()
        if host in METADATA_HOSTS:
            raise UrlNotAllowed("the host is a cloud metadata service")
        literal = _literal_address(host)
        if literal is not None:
            check_addresses([literal])
        return
    try:
        vetted_addresses(host, port)
    except (OSError, UnicodeError):
        raise UrlNotAllowed("the host does not resolve") from None


def check_url(url):
    """Raise UrlNotAllowed unless Reten may call this URL."""
    scheme, host, port = split_url(url)
    if scheme != "https" and not insecure_urls_allowed():
        raise UrlNotAllowed("https is required")
    check_host(host, port)


def url_problem(url):
    """Why this URL may not be called, as a sentence for an error's details; None when it may."""
    try:
        check_url(url)
    except UrlNotAllowed as exc:
        return f"Not an allowed outbound URL: {exc.reason}."
    return None


def validate_outbound_url(url, *, field):
    """400 naming `field` unless the URL may be called (dispatch base_url, hook_url, webhook url)."""
    problem = url_problem(url)
    if problem:
        raise ValidationFailed.of({field: [problem]})
