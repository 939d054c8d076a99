"""The `capital` command line."""
