#!/usr/bin/env python3
"""Checks that a README code block is an excerpt of a program the build compiles.

    readme_excerpt.py README NAME PROGRAM.cpp

The block is the fenced one after the line "<!-- tests/install: NAME -->".
Lines "// ..." split it into pieces; each piece must appear in PROGRAM.cpp as
consecutive lines, in order (indentation aside), so the README shows only
code that compiles.
"""
import sys


def readme_block(path, name):
    lines = open(path).read().splitlines()
    start = lines.index(f"<!-- tests/install: {name} -->")
    opening = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("```"))
    closing = next(i for i in range(opening + 1, len(lines)) if lines[i].startswith("```"))
    return lines[opening + 1:closing]


def pieces(block):
    piece = []
    for line in block:
        if line.strip().startswith("// ..."):
            if piece:
                yield piece
            piece = []
        else:
            piece.append(line.strip())
    if piece:
        yield piece


def main():
    readme, name, program = sys.argv[1:4]
    source = [line.strip() for line in open(program).read().splitlines()]
    at = 0
    for piece in pieces(readme_block(readme, name)):
        found = next((i for i in range(at, len(source) - len(piece) + 1) if source[i:i + len(piece)] == piece), None)
        if found is None:
            print(f"README block '{name}': these lines are not in {program} (in this order, after line {at}):")
            print("\n".join("  " + line for line in piece))
            return 1
        at = found + len(piece)
    print(f"README block '{name}' is an excerpt of {program}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
