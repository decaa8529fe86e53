"""Changing Domains (specification chapter of that name), against pebble, one server in sequence:

1. an MD gets its certificate
2. adding a name renews although the certificate is still valid
3. removing a name keeps the certificate (it still covers the shorter list)
4. removing the MD keeps its files; adding it back serves them again without a new order
"""

import re

import harness

NAME = "change.example.org"


def config(h, names, with_md=True):
    md = f"MDomain {' '.join(names)}\n" if with_md else ""
    return md + h.md_vhosts(NAME) + (h.md_vhosts("other.example.org") if not with_md else "")


def restart_with(h, body):
    h.write_config(body)
    mark = h.log_size()
    h.graceful()
    return mark


def test_130_changing_domains(httpd, ca):
    h = httpd
    h.write_config(f"MDomain {NAME}\n" + h.md_vhosts(NAME) + "MDomain other.example.org\n"
                   + h.md_vhosts("other.example.org"))
    h.start()
    h.wait_md_ready([NAME, "other.example.org"], timeout=120)
    h.graceful()
    first = h.peer_chain(NAME)
    assert harness.cert_sans(first) == [NAME]

    # 2. adding a name: renewed although valid
    body = (f"MDomain {NAME} add.{NAME}\n" + h.md_vhosts(NAME) + "MDomain other.example.org\n"
            + h.md_vhosts("other.example.org"))
    mark = restart_with(h, body)
    # a certificate that lacks a name leaves the MD incomplete (as in the stock module)
    assert re.search(rf"AH12155: {NAME}: incomplete, renewal the certificate does not cover all "
                     r"names",
                     h.log_text(mark))
    h.wait_md_ready([NAME], timeout=120, since=mark)
    h.graceful()
    second = h.peer_chain(NAME)
    assert harness.cert_sans(second) == sorted([NAME, f"add.{NAME}"])

    # 3. removing it again: the certificate stays
    body = (f"MDomain {NAME}\n" + h.md_vhosts(NAME) + "MDomain other.example.org\n"
            + h.md_vhosts("other.example.org"))
    mark = restart_with(h, body)
    assert re.search(rf"AH12155: {NAME}: ok, renewal not due", h.log_text(mark))
    assert h.peer_chain(NAME).serial_number == second.serial_number

    # 4. removing the MD keeps its files; adding it back reuses them
    mark = restart_with(h, "MDomain other.example.org\n" + h.md_vhosts("other.example.org"))
    assert (h.store_dir / "domains" / NAME / "pubcert.pem").is_file()
    assert (h.store_dir / "domains" / NAME / "privkey.pem").is_file()
    mark = restart_with(h, body)
    assert re.search(rf"AH12155: {NAME}: ok, renewal not due", h.log_text(mark))
    assert h.peer_chain(NAME).serial_number == second.serial_number
    h.verify_served(NAME, ca.issuer_root)
