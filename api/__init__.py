"""The capital service: the shared capital database and its HTTP API."""
