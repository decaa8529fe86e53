"""Challenge answers while etcd is away (MDStoreEtcd): the store cannot be read now (APR_EAGAIN).
Both challenge types take the same way (one place in mod_md.c decides it): a warning naming the
cause (AH13451), no error about a file the server cannot read, and the answer refused for now:
http-01 answers 503, acme-tls/1 is not offered to a TLS handshake asking for it.
"""

import os
import re
import subprocess

import pytest

import harness
from etcd_cluster import ETCD_BIN, EtcdCluster

pytestmark = [
    pytest.mark.skipif(harness.is_stock(), reason="the etcd store is this module's"),
    pytest.mark.skipif(not os.path.exists(ETCD_BIN), reason="etcd-server not installed"),
]

NAME = "away.etcd.test"
OTHER = "other.etcd.test"  # no MD (another program may answer its challenges); NAME's vhost
TOKEN = "Atok-" + "c" * 38


def alpn_selected(h, name):
    """Whether a handshake with SNI 'name' that offers only acme-tls/1 ends with it."""
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{h.https_port}",
                        "-servername", name, "-alpn", "acme-tls/1"],
                       input="", capture_output=True, text=True, timeout=20)
    return "ALPN protocol: acme-tls/1" in r.stdout


# AH13105: etcd lost (once); the job that waits on the blackhole CA may lose its etcd lock
@pytest.mark.expect_log("AH13451", "AH13105", "AH13111", "AH12300")
def test_672_answers_refused_for_now(scratch, blackhole, httpd):
    cluster = EtcdCluster(scratch / "etcd-672", n=1, tls=False).start()
    try:
        httpd.ca = blackhole
        httpd.write_config(cluster.directives("/away") + "Protocols http/1.1 acme-tls/1\n"
                           + httpd.md_config({NAME: []}))
        assert httpd.start().returncode == 0
        cluster.stop()
        path = f"/.well-known/acme-challenge/{TOKEN}"
        assert httpd.curl(NAME, path, https=False)[0] == 503
        for name in (NAME, OTHER):
            assert not alpn_selected(httpd, name)
        log = httpd.error_log.read_text(errors="replace")
        for md, kind, name in ((NAME, "http-01", NAME), (NAME, "tls-alpn-01", NAME),
                               (OTHER, "tls-alpn-01", OTHER)):
            assert re.search(rf"\[md:warn\].*AH13451: {re.escape(md)}: cannot read the {kind} "
                             rf"answer for {re.escape(name)} now: the store \(etcd\) is not "
                             r"reachable", log), log[-3000:]
        assert "AH13450" not in log
    finally:
        httpd.stop()
        cluster.stop()
