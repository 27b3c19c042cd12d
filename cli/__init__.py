"""`costream`: the command-line client of the gateway."""
