#!/usr/bin/python3
"""Checks the log message ids: each APLOGNO(n) in src/ is used at one call site only (the stock
module's well-known ids, which several of our call sites may share, are listed in KEEP) and every
id is listed in docs/lognos.md. Exits 1 with the offending ids.

Options:
  --unique-only   only check that ids are not reused (the integration suite runs this)
  --stock PATH    also note ids that the stock mod_md at PATH uses for other messages (they
                  confuse monitoring that matches ids); notes never fail the check
"""
import argparse
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
KEEP = {"10059"}  # AH10059: renewed, awaits a graceful restart (stock id, kept for admins)
# ids STYLE.md takes over from the stock module for equivalent messages
STOCK_KEPT = {"10059", "10108", "10109", "10038", "10040", "10045", "10056", "10069", "10105",
              "10170", "10171", "10173", "10238"}


def source_ids():
    uses = {}
    for f in sorted((ROOT / "src").rglob("*.[ch]")):
        for n, line in enumerate(f.read_text(errors="replace").splitlines(), 1):
            if "define APLOGNO" in line:
                continue
            for m in re.finditer(r"APLOGNO\((\d+)\)", line):
                uses.setdefault(m.group(1), []).append(f"{f.relative_to(ROOT)}:{n}")
    return uses


def stock_ids(path):
    if not path or not pathlib.Path(path).is_file():
        return set()
    out = subprocess.run(["strings", str(path)], capture_output=True, text=True).stdout
    return set(re.findall(r"\bAH(\d{5})\b", out))


def check(unique_only=False, stock=None, out=sys.stdout):
    """Returns (problems, notes) and prints them to 'out'."""
    uses = source_ids()
    doc_path = ROOT / "docs" / "lognos.md"
    doc = doc_path.read_text() if doc_path.exists() else ""
    listed = set(re.findall(r"AH(\d{5})", doc))
    stock_set = stock_ids(stock)
    bad, notes = [], []
    for no, where in sorted(uses.items()):
        if len(where) > 1 and no not in KEEP:
            bad.append(f"AH{no} used {len(where)} times: {', '.join(where)}")
        if not unique_only and no not in listed:
            bad.append(f"AH{no} ({where[0]}) is not listed in docs/lognos.md")
        if no in stock_set and no not in STOCK_KEPT:
            notes.append(f"note: AH{no} ({where[0]}) means something else in the stock module")
    for line in bad + notes:
        print(line, file=out)
    print(f"lognos: {len(uses)} ids, {len(bad)} problems", file=out)
    return bad, notes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--unique-only", action="store_true")
    ap.add_argument("--stock", default=None)
    args = ap.parse_args()
    bad, _ = check(args.unique_only, args.stock)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
