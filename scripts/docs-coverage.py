#!/usr/bin/env python3
"""Lists what an old README said that README.md and docs/ no longer say.

Usage: scripts/docs-coverage.py [REV]   (default 8b72c97, the last README
that held all the documentation). Each sentence of prose, each table cell and
each line of code in `git show REV:README.md` is looked for, whitespace
collapsed, in README.md plus every docs/**/*.md; the ones not found are
printed with their line number. Text that moved with edits (a link to another
page instead of an anchor) shows up here too: read the list, do not just
count it. Link targets are left out of the comparison (`[text](...)` is
compared as `[text]()`), since most links point to another page now.
"""
import pathlib
import re
import subprocess
import sys

root = pathlib.Path(__file__).resolve().parent.parent
rev = sys.argv[1] if len(sys.argv) > 1 else "8b72c97"
old = subprocess.run(["git", "-C", str(root), "show", f"{rev}:README.md"],
                     check=True, capture_output=True, text=True).stdout


def norm(text):
    # A link's target changes when its text moves to another page: compare
    # the link text only.
    text = re.sub(r"\]\([^)\s]*\)", "]()", text)
    return re.sub(r"\s+", " ", text).strip()


pages = [root / "README.md", *sorted((root / "docs").rglob("*.md"))]
corpus = norm("\n".join(p.read_text() for p in pages))

units, fence, para, para_line = [], False, [], 0


def flush():
    text = norm(" ".join(para))
    for sentence in re.split(r"(?<=[.;:!?)])\s+(?=[A-Z`(*\[])", text):
        if len(sentence) > 3:
            units.append((para_line, sentence))
    para.clear()


for n, line in enumerate(old.splitlines(), 1):
    if line.lstrip().startswith("```"):
        flush()
        fence = not fence
        continue
    if fence:
        if line.strip():
            units.append((n, norm(line)))
    elif line.lstrip().startswith("|"):
        flush()
        for cell in line.strip().strip("|").split(" | "):
            if cell.strip() and set(cell.strip()) - set("- "):
                units.append((n, norm(cell)))
    elif not line.strip() or line.startswith("#"):
        flush()
        if line.startswith("#"):
            units.append((n, norm(line.lstrip("#"))))
    else:
        bullet = re.match(r"\s*(- |\d+\. )", line)
        if bullet:
            flush()
            line = line[bullet.end():]
        if not para:
            para_line = n
        para.append(line)
flush()

missing = [(n, u) for n, u in units if u not in corpus]
for n, unit in missing:
    print(f"{n}: {unit}")
print(f"{len(units) - len(missing)} of {len(units)} found; {len(missing)} not found", file=sys.stderr)
