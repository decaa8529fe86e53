"""More MDs than renewal jobs run at once (MD_DRIVE_MAX_JOBS): they share one new account through
the process's account cache, each gets its certificate exactly once, and the child that runs the
jobs does not crash (a job started after the one that created the account used to read freed
memory). Jobs that start after others have talked to the CA take the directory and unused nonces
those left behind (MDs 17 to 20 fetch neither). Every name is then served with its own
certificate."""

import re

import harness

N = 20


def test_340_many_mds_share_one_account(httpd, ca):
    names = [f"m{i}.many.example.org" for i in range(N)]
    httpd.write_config("MDPrivateKeys secp256r1\n" + httpd.md_config({n: [] for n in names}))
    mark = ca.log_mark()
    httpd.start()
    httpd.wait_md_ready(names, timeout=180)
    requests = ca.requests_since(mark)
    # at most one directory and one newNonce per job of the first round (16 at once)
    assert len([r for r in requests if re.search(r"GET\s+/dir\b", r)]) <= 16
    assert len([r for r in requests if re.search(r"HEAD\s+/nonce-plz\b", r)]) <= 16
    text = httpd.log_text()
    assert "exit signal" not in text
    for n in names:
        assert len(re.findall(r"AH10059: The Managed Domain " + re.escape(n) + " ", text)) == 1
    httpd.graceful()
    accounts = list((httpd.store_dir / "accounts").iterdir())
    assert len(accounts) == 1, accounts
    for n in (names[0], names[-1]):
        httpd.verify_served(n, ca.issuer_root)
        assert n in harness.cert_sans(httpd.peer_chain(n))
