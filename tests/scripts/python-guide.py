#!/usr/bin/env python3
"""Runs docs/python.md as written: every ```python block, in order, in one namespace, in a scratch
directory; a block whose first line is `# file: NAME` is written to NAME there instead. Its
```sh install command must be the one .ci/run uses. Exits 1 naming the block that failed.

    python tests/scripts/python-guide.py docs/python.md        (from the checkout, with tradsys installed)
"""

import os
import re
import sys
import tempfile
import traceback
from pathlib import Path

INSTALL = "python3 -m venv .venv && .venv/bin/pip install ./python"


def blocks(text):
    """(line number, language, code) of each fenced block."""
    for match in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.M | re.S):
        yield text[: match.start()].count("\n") + 1, match.group(1), match.group(2)


def main(guide):
    repo = Path(__file__).resolve().parents[2]
    text = Path(guide).read_text()
    found = list(blocks(text))
    if not any(language == "sh" and code.strip() == INSTALL for _, language, code in found):
        sys.exit(f"{guide}: the install command is not `{INSTALL}` (the one .ci/run runs)")
    os.environ["TRADSYS_REPO"] = str(repo)
    if os.environ.get("TRADSYS_BIN"):
        os.environ["TRADSYS_BIN"] = str(Path(os.environ["TRADSYS_BIN"]).resolve())
    namespace = {"__name__": "__guide__"}
    ran = 0
    with tempfile.TemporaryDirectory(prefix="tradsys-python-guide-") as scratch:
        os.chdir(scratch)
        sys.path.insert(0, scratch)
        for line, language, code in found:
            if language != "python":
                continue
            first = code.splitlines()[0] if code else ""
            if first.startswith("# file: "):
                Path(first[len("# file: "):].strip()).write_text(code)
                continue
            print(f"--- {guide}:{line}", flush=True)
            try:
                exec(compile(code, f"{guide}:{line}", "exec"), namespace)
            except Exception:
                traceback.print_exc()
                sys.exit(f"{guide}: the block at line {line} failed")
            ran += 1
    print(f"{guide}: {ran} blocks ran as written")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/python.md")
