#!/usr/bin/env python3
"""Runs README.md's walk-through against a live mobileid-local, as a reader pastes it.

The runnable blocks are the ```sh blocks right after a `<!-- walkthrough -->` line. They run
in order in ONE bash process (variables and functions carry over, as in a terminal). A
command's expected answer is written under it as `# → ` lines; `…` stands for anything, and
whitespace is ignored (so long answers can be wrapped). The only change made to what is
pasted: the server's address, http://127.0.0.1:8080, becomes the test server's.

Usage: readme_walkthrough.py BASE_URL [README]   (exit 1 on any difference)
"""
import os
import re
import subprocess
import sys

DOC_URL = "http://127.0.0.1:8080"
MARK = "<!-- walkthrough -->"
ARROW = "# →"
MIN_CHECKS = 12  # the walk-through has more; fewer means the parser lost some


def blocks(readme):
    lines = readme.split("\n")
    out = []
    for i, line in enumerate(lines):
        if line.strip() != MARK:
            continue
        if i + 1 >= len(lines) or lines[i + 1].strip() != "```sh":
            sys.exit(f"README.md:{i + 1}: {MARK} must be followed by a ```sh block")
        body = []
        for j in range(i + 2, len(lines)):
            if lines[j].strip() == "```":
                break
            body.append(lines[j])
        else:
            sys.exit(f"README.md:{i + 1}: unterminated block")
        out.append((i + 3, body))
    return out


def steps(numbered_blocks):
    """(line number, command lines, expected answer or None) in order."""
    out = []
    for first_line, body in numbered_blocks:
        command, expected, start = [], [], first_line
        for k, line in enumerate(body):
            if line.lstrip().startswith(ARROW):
                expected.append(line.lstrip()[len(ARROW):])
                continue
            if expected or (not command and not line.strip()):
                if command:
                    out.append((start, command, " ".join(expected) if expected else None))
                command, expected, start = [], [], first_line + k
            command.append(line)
        if command:
            out.append((start, command, " ".join(expected) if expected else None))
    return out


def matches(expected, actual):
    squash = lambda s: re.sub(r"\s+", "", s)
    pattern = ".*?".join(re.escape(part) for part in squash(expected).split("…"))
    return re.fullmatch(pattern, squash(actual), re.S) is not None


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    base = sys.argv[1].rstrip("/")
    path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "../../README.md")
    with open(path, encoding="utf-8") as f:
        readme = f.read()
    found = steps(blocks(readme))
    checks = sum(1 for _, _, e in found if e is not None)
    if checks < MIN_CHECKS:
        sys.exit(f"only {checks} documented answers found in the walk-through (expected at least {MIN_CHECKS})")
    marker = "\x1eSTEP"
    script = []
    for n, (_, command, _) in enumerate(found):
        script.append(f"printf '{marker} {n}\\n'")
        script.extend(line.replace(DOC_URL, base) for line in command)
    script.append(f"printf '{marker} end\\n'")
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
    run = subprocess.run(["bash", "-c", "\n".join(script)], cwd=root, capture_output=True, text=True, timeout=600)
    outputs = {}
    current = None
    for line in run.stdout.split("\n"):
        if line.startswith(marker):
            current = line[len(marker) + 1:]
            outputs[current] = []
        elif current is not None:
            outputs[current].append(line)
    failures = 0
    for n, (line_no, command, expected) in enumerate(found):
        actual = "\n".join(outputs.get(str(n), ["<not reached>"])).strip()
        shown = next((c.strip() for c in command if c.strip() and not c.lstrip().startswith("#")), "")
        if expected is None:
            continue
        expected = expected.replace(DOC_URL, base)
        if matches(expected, actual):
            print(f"ok   README.md:{line_no}: {shown[:90]}")
        else:
            failures += 1
            print(f"FAIL README.md:{line_no}: {shown}\n     expected: {expected.strip()}\n     actual:   {actual}")
    if "end" not in outputs:
        failures += 1
        print("FAIL the walk-through did not run to its end")
    if failures:
        print("---- stderr of the walk-through ----\n" + run.stderr[-4000:])
    print(f"{checks - failures} passed, {failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
