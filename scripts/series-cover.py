#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Fill the cover letter git format-patch wrote from patches/cover-letter.txt.

series-cover.py COVER TEMPLATE UAPI_HEADER RESULTS_JSON RESULTS_MD

The template's first line is "Subject: ..."; the rest is the body, in which
  {{a.b.0.c}}             a value from bench/results.json
  {{ratio:A:B}}           A / B (paths as above), 4 decimals
  {{fixed:N:A}}           A with N decimals
  @@uapi-struct NAME@@    struct NAME { ... }; from <uapi/linux/ramm.h>
  @@uapi-defines PREFIX@@ every #define of a name starting with PREFIX
  @@bench-scale@@         the scale table (every row of results.json)
are replaced, so the numbers and the API can never go stale.  Anything
unknown is an error.
"""
import json
import re
import sys
import textwrap


def fail(msg):
    sys.exit(f"cover letter: {msg}")


def lookup(data, path):
    cur = data
    for part in path.split("."):
        if isinstance(cur, list):
            try:
                cur = cur[int(part)]
            except (ValueError, IndexError):
                fail(f"no {path} in bench/results.json")
        elif isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            fail(f"no {path} in bench/results.json")
    return cur


def fmt(v):
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, list):
        return ", ".join(str(x) for x in v) or "none"
    return str(v)


def value(data, expr):
    if expr.startswith("ratio:"):
        _, a, b = expr.split(":")
        return f"{lookup(data, a) / lookup(data, b):.4f}"
    if expr.startswith("fixed:"):
        _, n, a = expr.split(":")
        return f"{lookup(data, a):.{int(n)}f}"
    return fmt(lookup(data, expr))


def uapi_struct(src, name):
    m = re.search(r"^struct %s \{\n.*?^\};\n" % re.escape(name), src, re.M | re.S)
    if not m:
        fail(f"no struct {name} in uapi/linux/ramm.h")
    return m.group(0).rstrip("\n")


def uapi_defines(src, prefix):
    lines = [l for l in src.splitlines()
             if re.match(r"^#\s*define\s+%s\w*\s" % re.escape(prefix), l)]
    if not lines:
        fail(f"no #define {prefix}* in uapi/linux/ramm.h")
    return "\n".join(lines)


def bench_scale(data):
    rows = ["  ranges  processes  searches  us per search"]
    for r in lookup(data, "scale"):
        rows.append(f"  {r['ranges']:>6}  {r['procs']:>9}  {r['selections']:>8}"
                    f"  {r['per_search_us']:>13.1f}")
    return "\n".join(rows)


def main():
    cover, template, uapi, results, _md = sys.argv[1:6]
    with open(template) as f:
        tmpl = f.read()
    with open(uapi) as f:
        src = f.read()
    with open(results) as f:
        data = json.load(f)
    first, _, body = tmpl.partition("\n")
    if not first.startswith("Subject: "):
        fail("patches/cover-letter.txt must start with a 'Subject: ' line")
    subject = first[len("Subject: "):]
    # Comment lines of the template ("#" first) are for its editors.
    body = "\n".join(l for l in body.splitlines() if not l.startswith("#"))

    def directive(m):
        kind, arg = m.group(1), m.group(2)
        if kind == "uapi-struct":
            return uapi_struct(src, arg)
        if kind == "uapi-defines":
            return uapi_defines(src, arg)
        if kind == "bench-scale":
            return bench_scale(data)
        fail(f"unknown directive @@{kind}@@")

    body = re.sub(r"@@([a-z-]+)(?: ([^@]+))?@@", directive, body)
    body = re.sub(r"\{\{([^}]+)\}\}", lambda m: value(data, m.group(1)), body)
    if "{{" in body or "@@" in body:
        fail("an unreplaced {{...}} or @@...@@ is left")
    # Prose paragraphs are refilled at 72 columns, since the values put in
    # change their lengths; headings, lists, tables and code are not, and
    # must fit in 75.
    def prose(par):
        return all(re.match(r"\S", l) for l in par) and \
            not re.match(r"(- |\d+\. )", par[0]) and \
            not any(re.match(r"^(=+|-+)$", l) or l.rstrip().endswith(("{", ";"))
                    or l.startswith("#") for l in par)
    out = []
    for par in re.split(r"\n\s*\n", body.strip("\n")):
        lines = par.splitlines()
        if len(lines) > 1 and re.match(r"^(=+|-+)$", lines[-1]):
            out.append(par)         # a heading
        elif prose(lines):
            out.append("\n".join(textwrap.wrap(" ".join(lines), 72,
                                               break_long_words=False,
                                               break_on_hyphens=False)))
        else:
            out.append(par)
    body = "\n\n".join(out)
    long_lines = [l for l in body.splitlines() if len(l) > 75]
    if long_lines:
        fail("lines longer than 75 columns:\n    " + "\n    ".join(long_lines))

    with open(cover) as f:
        text = f.read()
    if "*** SUBJECT HERE ***" not in text or "*** BLURB HERE ***" not in text:
        fail(f"{cover} is not git format-patch's cover letter")
    text = text.replace("*** SUBJECT HERE ***", subject, 1)
    text = text.replace("*** BLURB HERE ***", body.strip("\n"), 1)
    with open(cover, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
