"""Pushes every new order view in this region to its WebSocket and AppSync subscribers."""
