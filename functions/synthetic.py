"""Synthetic orders: what the write canary places, which the saga completes charging no one.

An order is synthetic only when it came in on the IAM-authorized route
``POST /synthetic/orders`` (of the deployment's roles, only the write canary's may call it),
or on a primary's internal route with :data:`HEADER` from a secondary that took it on that
route. A header on
the public route means nothing. Its saga runs with ``"synthetic": true`` in its input: no
payment provider and no CRM are called, and the business counters do not count it. Its
customer is :data:`CUSTOMER_ID`, which the public routes refuse, so no real order is
synthetic and no synthetic order is a real customer's.

Imports nothing: the canary (whose archive holds only a few modules), the write path and the
infra read it alike.
"""

from __future__ import annotations

# The route the write canary signs its POST to, and the path the write function sees.
ROUTE = "POST /synthetic/orders"
PATH = "/synthetic/orders"
# What a secondary adds when it forwards a synthetic order to the primary's internal route.
HEADER = "x-synthetic-order"
# In the saga's input; absent for every other order.
FIELD = "synthetic"
# The customer of every synthetic order (and of the read canary's known order).
CUSTOMER_ID = "synthetic-canary"
# How long a synthetic order is kept: the projector sets its view items' TTL to this after it
# was placed, and the outbox drainer deletes its rows after as long (migration 0005), so the
# write canary's orders (about 8,640 a month per region) do not pile up.
RETENTION_SECONDS = 7 * 24 * 3600
