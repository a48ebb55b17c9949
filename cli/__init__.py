"""The command line: `spec-review` and its subcommands, each calling the domain's operations and queries."""
