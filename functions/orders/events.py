"""Names of the write path's events: the one place the functions and the infra share.

Imports nothing, so the Pulumi program (which has no botocore) can import it too.
"""

from __future__ import annotations

# The `source` of every event the write path puts on a bus.
EVENT_SOURCE = "active-active.orders"
# A secondary's write handed to the primary in async mode; every other detail type is a
# domain event (OrderPlaced, PaymentAuthorized, ..., OrderConfirmed, OrderFailed).
ORDER_REQUESTED = "OrderRequested"
