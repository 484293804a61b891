"""``GET /health``: is this region fit to serve (local table and local Aurora reader)."""
