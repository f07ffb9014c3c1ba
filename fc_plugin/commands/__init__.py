"""One module per `fc-plugin` subcommand."""
