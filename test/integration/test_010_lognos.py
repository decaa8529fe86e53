"""Log message ids in src/ are unique (STYLE.md: one id per call site, never reused).
`make check-lognos` also checks that each is listed in docs/lognos.md."""

import io
import sys

import harness

sys.path.insert(0, str(harness.REPO / "test" / "tools"))
import check_lognos  # noqa: E402


def test_010_ids_unique():
    out = io.StringIO()
    errors, _ = check_lognos.check(unique_only=True, out=out)
    assert not errors, out.getvalue()
