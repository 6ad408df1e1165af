#!/usr/bin/env python3
"""Lists the functions over MAX_FN lines and the files over MAX_FILE lines
of non-test Rust code in `src/` and `adapters/*/src/` (issue 12: "no
function over ~80 lines, no file over ~450 lines, tests aside").

Test code is left out: files named `tests.rs` or `*_tests.rs`, files under
a `tests/` folder, and `#[cfg(test)]` items (a `mod tests { ... }` block's
lines do not count towards its file either). A function's length runs from
its `fn` line to its closing brace, both included.

usage: tools/sizes.py [--max-fn N] [--max-file N] [ROOT]   (ROOT: the repo)
Exits 1 when anything is over, 0 otherwise.
"""

import argparse
import pathlib
import re
import sys

FN = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?(extern\s+\"[^\"]*\"\s+)?fn\s+(\w+)")


def strip(line):
    """The line without string/char literals and `//` comments, so braces
    inside them do not count (good enough for this code base: no raw
    strings holding unbalanced braces on one line)."""
    line = re.sub(r'r#*"[^"]*"#*', '""', line)
    line = re.sub(r'"(\\.|[^"\\])*"', '""', line)
    line = re.sub(r"'(\\.|[^'\\])'", "' '", line)
    return line.split("//", 1)[0]


def block_end(lines, start):
    """Index of the line closing the first `{` at or after `start`, or None
    (a declaration without a body)."""
    depth = 0
    opened = False
    for i in range(start, len(lines)):
        code = strip(lines[i])
        for ch in code:
            if ch == "{":
                depth += 1
                opened = True
            elif ch == "}":
                depth -= 1
                if opened and depth == 0:
                    return i
        if not opened and code.rstrip().endswith(";"):
            return None
    return None


def scan(path):
    lines = path.read_text().splitlines()
    test_lines = set()
    i = 0
    while i < len(lines):
        if lines[i].strip().startswith("#[cfg(test)]"):
            end = block_end(lines, i + 1)
            if end is not None:
                test_lines.update(range(i, end + 1))
                i = end + 1
                continue
        i += 1
    long_fns = []
    for i, line in enumerate(lines):
        if i in test_lines:
            continue
        m = FN.match(line)
        if not m:
            continue
        end = block_end(lines, i)
        if end is None:
            continue
        length = end - i + 1
        long_fns.append((m.group(7), i + 1, length))
    return len(lines) - len(test_lines), long_fns


def is_test_file(rel):
    parts = rel.parts
    return "tests" in parts or rel.name == "tests.rs" or rel.name.endswith("_tests.rs")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-fn", type=int, default=80)
    ap.add_argument("--max-file", type=int, default=450)
    ap.add_argument("root", nargs="?", default=".")
    args = ap.parse_args()
    root = pathlib.Path(args.root)
    files = sorted(set(root.glob("src/**/*.rs")) | set(root.glob("adapters/*/src/**/*.rs")))
    over = 0
    for path in files:
        rel = path.relative_to(root)
        if is_test_file(rel):
            continue
        count, fns = scan(path)
        if count > args.max_file:
            print(f"file {rel}: {count} lines")
            over += 1
        for name, line, length in fns:
            if length > args.max_fn:
                print(f"fn   {rel}:{line} {name}: {length} lines")
                over += 1
    print(f"{over} over (fn > {args.max_fn}, file > {args.max_file} lines)", file=sys.stderr)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
