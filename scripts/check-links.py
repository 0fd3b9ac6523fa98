#!/usr/bin/env python3
"""Checks the relative links of every Markdown file in the repository; exits 1 listing each dead one.

A link is dead when its file (or folder) does not exist, or when its #anchor names no heading of the page it points
to (or of its own page, for "#anchor" alone). Anchors are GitHub's heading slugs: the heading's text as rendered,
lower-cased, with everything but letters, digits, '_', '-' and spaces dropped and spaces made '-'; a repeated heading
gets -1, -2, ... Explicit <a name="..."> / id="..." anchors count too. Links to other sites (http:, https:, mailto:)
are not followed. Fenced code blocks and `code spans` are not read, so an example in code is never taken for a link.

Usage: scripts/check-links.py [file.md ...]   (default: every *.md git knows of, untracked but not ignored included)
"""

import os
import re
import subprocess
import sys
import unicodedata
from urllib.parse import unquote

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # http:, https:, mailto:, ...
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
HTML_ANCHOR = re.compile(r"<a\s[^>]*\b(?:name|id)\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)
REFERENCE = re.compile(r"^ {0,3}\[([^\]]+)\]:\s*<?([^\s>]+)>?")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")


def markdown_files():
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z", "--", "*.md"],
            cwd=ROOT, check=True, capture_output=True, text=True).stdout
        files = [f for f in out.split("\0") if f]
    except (OSError, subprocess.CalledProcessError):
        files = [os.path.relpath(os.path.join(d, f), ROOT)
                 for d, _, names in os.walk(ROOT) if "/." not in d and "/bin" not in d and "/obj" not in d
                 for f in names if f.endswith(".md")]
    return sorted({f for f in files if os.path.isfile(os.path.join(ROOT, f))})


def prose_lines(text):
    """Yields (line number, line) outside fenced code blocks."""
    fence = None
    for number, line in enumerate(text.splitlines(), 1):
        match = FENCE.match(line)
        if fence is None:
            if match:
                fence = match.group(1)
                continue
            yield number, line
        elif match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence) \
                and line.strip() == match.group(1):
            fence = None


def rendered(heading):
    """The text GitHub renders for a heading's Markdown (enough of it for slugs)."""
    parts = []
    # A code span is literal (`<Error>` stays text); the rest may hold links, inline HTML and emphasis.
    for i, part in enumerate(re.split(r"(`+.+?`+)", heading)):
        if i % 2:
            parts.append(part.strip("`"))
            continue
        part = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", part)  # links and images: their text
        part = re.sub(r"<[^>]+>", "", part)  # inline HTML
        part = re.sub(r"(\*\*|__)(.+?)\1", r"\2", part)  # strong emphasis
        part = re.sub(r"(?<![\w*])[*_](?!\s)(.+?)(?<!\s)[*_](?![\w*])", r"\1", part)  # emphasis
        parts.append(part)
    return "".join(parts).strip()


def slug(heading):
    kept = []
    for ch in rendered(heading).lower():
        category = unicodedata.category(ch)
        if ch in " -" or category[0] in "LMN" or category == "Pc":
            kept.append("-" if ch == " " else ch)
    return "".join(kept)


_anchor_cache = {}


def anchors_of(path):
    if path in _anchor_cache:
        return _anchor_cache[path]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    seen, anchors, previous = {}, set(), None
    for _, line in prose_lines(text):
        heading = None
        match = ATX.match(line)
        if match:
            heading = match.group(2) or ""
        elif previous is not None and previous.strip() and SETEXT.match(line) and not ATX.match(previous) \
                and not re.match(r"^\s*([-*+]|\d+[.)])\s", previous) and not previous.startswith((" " * 4, "\t", "|")):
            heading = previous.strip()
        if heading is not None:
            base = slug(heading)
            count = seen.get(base, 0)
            anchors.add(base if count == 0 else f"{base}-{count}")
            seen[base] = count + 1
        anchors.update(HTML_ANCHOR.findall(line))
        previous = line if not match else None
    _anchor_cache[path] = anchors
    return anchors


def link_targets(line):
    """The targets of inline links and images on a line whose code spans were blanked."""
    i = 0
    while True:
        i = line.find("](", i)
        if i < 0:
            return
        j, depth, start = i + 2, 1, i + 2
        while j < len(line) and depth:
            if line[j] == "\\":
                j += 1
            elif line[j] == "(":
                depth += 1
            elif line[j] == ")":
                depth -= 1
            j += 1
        if depth == 0:
            target = line[start:j - 1].strip()
            if target.startswith("<"):
                target = target[1:target.find(">")] if ">" in target else target[1:]
            else:
                target = re.split(r"\s+", target, maxsplit=1)[0] if target else target  # drop a "title"
            yield target
        i = j


def check(file):
    dead = []
    path = os.path.join(ROOT, file)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for number, line in prose_lines(text):
        prose = CODE_SPAN.sub(lambda m: " " * len(m.group(0)), line)
        targets = list(link_targets(prose))
        reference = REFERENCE.match(prose)
        if reference:
            targets.append(reference.group(2))
        for target in targets:
            if not target or EXTERNAL.match(target):
                continue
            where, _, anchor = target.partition("#")
            where = unquote(where.split("?", 1)[0])
            if where:
                base = ROOT if where.startswith("/") else os.path.dirname(path)
                resolved = os.path.normpath(os.path.join(base, where.lstrip("/")))
                if not resolved.startswith(ROOT) or not os.path.exists(resolved):
                    dead.append((number, target, "no such file"))
                    continue
            else:
                resolved = path
            if anchor and resolved.endswith(".md") and os.path.isfile(resolved) \
                    and unquote(anchor) not in anchors_of(resolved):
                dead.append((number, target, f"no heading #{anchor} in {os.path.relpath(resolved, ROOT)}"))
    return dead


def main(argv):
    files = [os.path.relpath(os.path.abspath(f), ROOT) for f in argv] or markdown_files()
    links_dead = 0
    for file in files:
        for number, target, why in check(file):
            print(f"{file}:{number}: dead link ({target}): {why}")
            links_dead += 1
    if links_dead:
        print(f"{links_dead} dead link(s) in {len(files)} Markdown file(s).", file=sys.stderr)
        return 1
    print(f"Links: {len(files)} Markdown file(s), no dead relative link or anchor.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
