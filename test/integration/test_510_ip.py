"""IP address identifiers (RFC 8738): an MD of IP addresses, alone or with DNS names, gets a
certificate from pebble over http-01 and over tls-alpn-01 (whose validation connection names the
address by its reverse-DNS name, "1.0.0.127.in-addr.arpa"), for IPv4 (127.0.0.1) and IPv6 (::1):
the order carries {"type": "ip"} identifiers, the certificate iPAddress SANs, and it is served to
clients that connect to the address (without SNI, as TLS clients do for addresses).
"""

import ipaddress
import re
import socket
import ssl

import pytest

import harness
from cryptography import x509


def ip_vhost(h, addr, names=(), protocols=None):
    host = f"[{addr}]" if ":" in addr else addr
    alias = f"    ServerAlias {' '.join(names)}\n" if names else ""
    proto = f"    Protocols {protocols}\n" if protocols else ""
    # the base configuration listens on 127.0.0.1 already; IPv6 needs its own
    listen = f"Listen {host}:{h.http_port}\nListen {host}:{h.https_port}\n" if ":" in addr else ""
    # httpd's ServerName cannot be an IPv6 address: the MD finds the vhost by its address
    server_name = "" if ":" in addr else f"    ServerName {addr}\n"
    return f"""{listen}<VirtualHost {host}:{h.https_port}>
{server_name}{alias}    SSLEngine on
{proto}</VirtualHost>
"""


def served_by_address(h, addr):
    """The certificate served on connecting to addr:https_port without SNI."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect((addr, h.https_port))
        with ctx.wrap_socket(s) as t:
            der = t.getpeercert(binary_form=True)
    return x509.load_der_x509_certificate(der)


def ip_sans(cert):
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return sorted(str(i) for i in ext.get_values_for_type(x509.IPAddress))


CASES = [
    # (address, challenge, extra DNS names)
    ("127.0.0.1", "http-01", ()),
    ("127.0.0.1", "tls-alpn-01", ()),
    ("::1", "http-01", ()),
    ("::1", "tls-alpn-01", ()),
    ("127.0.0.1", "http-01", ("ip-and-name.example.org",)),
]


@pytest.mark.parametrize("addr,challenge,names", CASES)
def test_510_ip_certificate(httpd, ca, addr, challenge, names):
    front = harness.FrontCA(ca)
    try:
        httpd.ca = front
        md_names = " ".join([addr, *names])
        proto = "h2 http/1.1 acme-tls/1" if challenge == "tls-alpn-01" else None
        httpd.write_config(f"""MDCAChallenges {challenge}
MDomain {md_names}
{ip_vhost(httpd, addr, names, proto)}""")
        httpd.start_and_issue([addr])
        order = front.front.snapshot()["new_orders"][0]
        ids = sorted((i["type"], i["value"]) for i in order["identifiers"])
        assert ids == sorted([("ip", addr)] + [("dns", n) for n in names])
        cert = served_by_address(httpd, addr)
        assert not harness.is_self_signed(cert)
        assert ip_sans(cert) == [str(ipaddress.ip_address(addr))]
        assert harness.cert_sans(cert) == sorted(names)
        if challenge == "tls-alpn-01":
            rev = ipaddress.ip_address(addr).reverse_pointer
            assert re.search(r"AH12506: answering the tls-alpn-01 challenge for "
                             + re.escape(rev) + r" \(" + re.escape(addr) + r"\)",
                             httpd.log_text()), httpd.log_text()
    finally:
        front.stop()
