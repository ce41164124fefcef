"""`python -m riskmap.api.cli` works like the `riskmap` command."""

from riskmap.api.cli import main

main()
