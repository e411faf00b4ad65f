"""The last step of every generator of a vendored data file (infra/numbering/subset.py,
shared/aws/data/aws_roots.py): write the file, or with --check only compare it, so that CI
fails when the committed file is not what its generator writes from the locked crates."""
import os
import sys


def write_or_check(path, text, check, regenerate, summary):
    """`regenerate`: the command that rewrites the file; `summary`: what it holds, for the log."""
    if check:
        current = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
        if current != text:
            sys.exit(f"{path} is out of date: run {regenerate}")
        print(f"{path} is up to date ({summary})")
        return
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {path} ({summary}, {len(text)} bytes)")
