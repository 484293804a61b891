"""The HTTP read API: ``GET /orders/{orderId}`` and ``GET /customers/{customerId}/orders``."""
