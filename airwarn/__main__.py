"""`python -m airwarn`: the same as the `airwarn` command."""

from airwarn.cli import main

main()
