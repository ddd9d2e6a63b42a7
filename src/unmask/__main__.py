"""`python -m unmask` runs the command line."""

from unmask.cli import main

main()
