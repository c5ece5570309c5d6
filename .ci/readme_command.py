"""Print the README's Nth command of "Two commands" (1: the demo, 2: the tests), as written."""

import sys
from pathlib import Path

text = Path(__file__).resolve().parents[1].joinpath("README.md").read_text(encoding="utf-8")
section = text.split("\n## Two commands", 1)[1].split("\n## ", 1)[0]
block = section.split("```sh\n", 1)[1].split("```", 1)[0]
commands = [line for line in block.splitlines() if line.strip()]
print(commands[int(sys.argv[1]) - 1])
