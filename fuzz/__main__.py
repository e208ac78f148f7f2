"""``python -m fuzz TARGET [libFuzzer flags] [corpus dir]``: fuzz one target; crash inputs are
written to build/fuzz/TARGET/ (outside git)."""

from __future__ import annotations

import importlib
import pathlib
import sys

import atheris

from fuzz import TARGETS


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: python -m fuzz {{{','.join(TARGETS)}}} [libFuzzer flags] [corpus dir]")
    name, flags = sys.argv[1], sys.argv[2:]
    artefacts = pathlib.Path("build/fuzz") / name
    artefacts.mkdir(parents=True, exist_ok=True)
    for flag in flags:
        if not flag.startswith("-"):
            pathlib.Path(flag).mkdir(parents=True, exist_ok=True)  # a corpus folder
    target = importlib.import_module(f"fuzz.{name}")
    atheris.Setup([sys.argv[0], f"-artifact_prefix={artefacts}/", *flags], target.TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
