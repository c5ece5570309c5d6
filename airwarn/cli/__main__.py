"""`python -m airwarn.cli`: the same as the `airwarn` command."""

from airwarn.cli import main

main()
