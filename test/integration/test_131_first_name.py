"""Changing Domains: the MD's name stays when its first name is removed.

1. MDomain first.example.org www.first.example.org gets its certificate
2. the first name is removed: the MD, now configured as www.first.example.org, keeps the stored
   name first.example.org (AH12450), its certificate (no new order) and makes no new directory
3. a full stop and start (dry run + real run) comes to the same result both times
4. a new MD with the removed name takes the name back; the other MD then starts anew under its
   own first name (the specification warns that this renews more than one might want)
"""

import re

import harness

FIRST = "first.example.org"
WWW = "www.first.example.org"


def config(h, mds):
    """mds: list of domain lists, one MDomain and one vhost each."""
    body = ""
    for names in mds:
        body += f"MDomain {' '.join(names)}\n" + h.md_vhosts(names[0], names[1:])
    return body


def test_131_first_name_removed(httpd, ca):
    h = httpd
    h.write_config(config(h, [[FIRST, WWW]]))
    h.start()
    h.wait_md_ready([FIRST], timeout=120)
    h.graceful()
    first = h.peer_chain(WWW)
    assert harness.cert_sans(first) == sorted([FIRST, WWW])
    ca_mark = ca.log_mark()

    # 2. the first name goes: same MD, same name, same certificate
    h.write_config(config(h, [[WWW]]))
    mark = h.log_size()
    h.graceful()
    text = h.log_text(mark)
    assert re.search(rf"AH12450: {re.escape(FIRST)}: the MD configured as {re.escape(WWW)} "
                     r"keeps this stored name", text), text
    assert re.search(rf"AH12155: {re.escape(FIRST)}: ok, renewal not due", text), text
    assert not (h.store_dir / "domains" / WWW).exists()
    assert h.peer_chain(WWW).serial_number == first.serial_number
    h.verify_served(WWW, ca.issuer_root)
    md = (h.store_dir / "domains" / FIRST / "md.json").read_text()
    assert f'"{FIRST}"' in md

    # 3. the dry run and the real run of a fresh start agree
    h.stop()
    mark = h.log_size()
    h.start()
    text = h.log_text(mark)
    assert len(re.findall(rf"AH12450: {re.escape(FIRST)}: ", text)) == 2, text
    assert len(re.findall(rf"AH12155: {re.escape(FIRST)}: ok, renewal not due", text)) == 2, text
    assert not (h.store_dir / "domains" / WWW).exists()
    assert h.peer_chain(WWW).serial_number == first.serial_number
    assert not [ln for ln in ca.requests_since(ca_mark) if "order-plz" in ln]

    # 4. the removed name comes back as an MD of its own: it owns domains/first.example.org
    h.write_config(config(h, [[FIRST], [WWW]]))
    mark = h.log_size()
    h.graceful()
    text = h.log_text(mark)
    assert "AH12450" not in text
    assert re.search(rf"AH12155: {re.escape(FIRST)}: ok, renewal not due", text), text
    assert h.peer_chain(FIRST).serial_number == first.serial_number
    h.wait_md_ready([WWW], timeout=120, since=mark)
    h.graceful()
    assert harness.cert_sans(h.peer_chain(WWW)) == [WWW]
    assert h.peer_chain(FIRST).serial_number == first.serial_number
