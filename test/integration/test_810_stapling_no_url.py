"""OCSP stapling of a certificate that names no OCSP responder (the shared pebble issues
such ones, like Let's Encrypt since 2025): it is skipped with one info line, nothing is stapled
or stored, and no warning or error is logged."""

from test_800_stapling import s_client_status


def test_810_no_responder_url_skipped(httpd, ca):
    """Certificates of the shared pebble name no OCSP responder: skipped, one info line."""
    httpd.write_config("MDStapling on\n" + httpd.md_config({"norsp.example.org": []}))
    httpd.start()
    httpd.wait_md_ready(["norsp.example.org"], timeout=120)
    mark = httpd.log_size()
    httpd.graceful()
    httpd.wait_log(r"AH12802: norsp.example.org: certificate \w+ .* names no OCSP responder",
                   since=mark)
    assert s_client_status(httpd, "norsp.example.org") == "none"
    assert not (httpd.store_dir / "ocsp" / "norsp.example.org").exists()
