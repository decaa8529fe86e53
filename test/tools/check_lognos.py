#!/usr/bin/python3
"""Checks the log message ids: each APLOGNO(n) in src/ is used at one call site only (the stock
module's well-known ids, which several of our call sites may share, are listed in KEEP) and every
id is listed in docs/lognos.md. Exits 1 with the offending ids."""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
KEEP = {"10059"}  # AH10059: renewed, awaits a graceful restart (stock id, kept for admins)

uses = {}
for f in sorted((ROOT / "src").rglob("*.[ch]")):
    for n, line in enumerate(f.read_text().splitlines(), 1):
        for m in re.finditer(r"APLOGNO\((\d+)\)", line):
            if "define APLOGNO" in line:
                continue
            uses.setdefault(m.group(1), []).append(f"{f.relative_to(ROOT)}:{n}")

doc = (ROOT / "docs" / "lognos.md").read_text() if (ROOT / "docs" / "lognos.md").exists() else ""
listed = set(re.findall(r"AH(\d{5})", doc))
bad = []
for no, where in sorted(uses.items()):
    if len(where) > 1 and no not in KEEP:
        bad.append(f"AH{no} used {len(where)} times: {', '.join(where)}")
    if no not in listed:
        bad.append(f"AH{no} ({where[0]}) is not listed in docs/lognos.md")
for line in bad:
    print(line)
print(f"lognos: {len(uses)} ids, {len(bad)} problems")
sys.exit(1 if bad else 0)
