"""Changing Domains: moving names between MDs is predictable (docs/directives.md, "Changing the
names of an MD").

1. MD A (ma, mx, my) and MD B (mb) get their certificates
2. mx moves from A to B: B renews at once (its certificate no longer covers its names), A keeps
   its certificate (it still covers A's names); the moved name is served by B's vhost, with B's
   old certificate until the renewal is activated, then with the new one
3. A's first name ma moves to B as well: A, now configured as my, keeps its stored name ma and
   its certificate; B renews again; a further restart renews nothing
"""

import re

import harness

MA, MX, MY, MB = (f"{n}.move.example.org" for n in ("ma", "mx", "my", "mb"))


def config(h, mds):
    body = ""
    for names in mds:
        body += f"MDomain {' '.join(names)}\n" + h.md_vhosts(names[0], names[1:])
    return body


def restart_with(h, mds):
    h.write_config(config(h, mds))
    mark = h.log_size()
    h.graceful()
    return mark, h.log_text(mark)


def renewal_line(name, what, text):
    # a certificate that lacks a name leaves the MD incomplete (as in the stock module)
    state = "incomplete" if "does not cover" in what else "ok"
    return re.search(rf"AH12155: {re.escape(name)}: {state}, renewal {what}", text)


def test_132_moving_names(httpd, ca):
    h = httpd
    h.write_config(config(h, [[MA, MX, MY], [MB]]))
    h.start()
    h.wait_md_ready([MA, MB], timeout=120)
    h.graceful()
    a_cert = h.peer_chain(MA)
    b_old = h.peer_chain(MB)
    assert harness.cert_sans(a_cert) == sorted([MA, MX, MY])

    # 2. mx moves to B
    mark, text = restart_with(h, [[MA, MY], [MB, MX]])
    assert renewal_line(MB, "the certificate does not cover all names", text), text
    assert renewal_line(MA, "not due", text), text
    # the moved name belongs to B's vhost now: B's old certificate until the renewal is active
    assert h.peer_chain(MX).serial_number == b_old.serial_number
    assert h.peer_chain(MA).serial_number == a_cert.serial_number
    h.wait_md_ready([MB], timeout=120, since=mark)
    h.graceful()
    b_new = h.peer_chain(MX)
    assert harness.cert_sans(b_new) == sorted([MB, MX])
    h.verify_served(MX, ca.issuer_root)
    # A still has the certificate with mx in it, until its own renewal
    assert h.peer_chain(MY).serial_number == a_cert.serial_number

    # 3. A's first name moves too: A keeps the name ma, B renews for it
    mark, text = restart_with(h, [[MY], [MB, MX, MA]])
    assert re.search(rf"AH12450: {re.escape(MA)}: the MD configured as {re.escape(MY)} ", text)
    assert renewal_line(MA, "not due", text), text
    assert renewal_line(MB, "the certificate does not cover all names", text), text
    assert not (h.store_dir / "domains" / MY).exists()
    assert h.peer_chain(MY).serial_number == a_cert.serial_number
    h.wait_md_ready([MB], timeout=120, since=mark)
    h.graceful()
    assert harness.cert_sans(h.peer_chain(MA)) == sorted([MA, MB, MX])
    h.verify_served(MA, ca.issuer_root)
    assert h.peer_chain(MY).serial_number == a_cert.serial_number

    # predictable: the same configuration again changes nothing
    ca_mark = ca.log_mark()
    mark, text = restart_with(h, [[MY], [MB, MX, MA]])
    assert renewal_line(MA, "not due", text), text
    assert renewal_line(MB, "not due", text), text
    assert not [ln for ln in ca.requests_since(ca_mark) if "order-plz" in ln]
