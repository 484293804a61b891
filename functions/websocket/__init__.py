"""The WebSocket API's routes: ``$connect``, ``$disconnect`` and the ``subscribe`` action."""
