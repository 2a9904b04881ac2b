"""``python -m twostep`` runs the command line."""

from twostep.cli import main

main()
