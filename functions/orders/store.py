"""The saga's SQL: every method is one transaction, and records its step in ``saga_steps``.

A step already recorded for an order is not applied again; that is what makes each step
idempotent on the order id when Step Functions retries it.
"""

from __future__ import annotations

from typing import Any

import pg8000.native

from functions.orders.db import Database
from functions.orders.domain import OrderStatus, check_transition
from functions.orders.errors import OrderConflict
from functions.orders.projection import Snapshot


def _record(conn: pg8000.native.Connection, order_id: str, step: str, outcome: str) -> bool:
    rows = conn.run(
        "INSERT INTO saga_steps (order_id, step, outcome) VALUES (:o, :s, :r) "
        "ON CONFLICT (order_id, step) DO NOTHING RETURNING seq",
        o=order_id,
        s=step,
        r=outcome,
    )
    return bool(rows)


def _bump(
    conn: pg8000.native.Connection,
    order_id: str,
    status: OrderStatus | None = None,
    cause: str | None = None,
) -> None:
    if status is not None:
        [[current]] = conn.run(
            "SELECT status FROM orders WHERE order_id = :o FOR UPDATE", o=order_id
        )
        check_transition(OrderStatus(current), status)
    conn.run(
        "UPDATE orders SET version = version + 1, updated_at = now(), "
        "status = COALESCE(:st, status), failure_cause = COALESCE(:c, failure_cause) "
        "WHERE order_id = :o",
        o=order_id,
        st=status.value if status else None,
        c=cause,
    )


class PostgresOrderStore:
    """The normalized write model in Aurora PostgreSQL."""

    def __init__(self, db: Database):
        self._db = db

    def done(self, order_id: str, step: str) -> bool:
        """True when ``step`` already took effect for the order."""
        rows = self._db.connection().run(
            "SELECT 1 FROM saga_steps WHERE order_id = :o AND step = :s", o=order_id, s=step
        )
        return bool(rows)

    def reserve(self, order_id: str, fingerprint: str, request: dict[str, Any], total: int) -> bool:
        """Insert the order, its lines and its pending payment; False if it already existed."""
        with self._db.transaction() as conn:
            inserted = conn.run(
                "INSERT INTO orders (order_id, customer_id, currency, total, status, fingerprint)"
                " VALUES (:o, :c, :cur, :t, 'PENDING', :f) ON CONFLICT (order_id) DO NOTHING "
                "RETURNING order_id",
                o=order_id,
                c=request["customerId"],
                cur=request["currency"],
                t=total,
                f=fingerprint,
            )
            if not inserted:
                [[existing]] = conn.run(
                    "SELECT fingerprint FROM orders WHERE order_id = :o", o=order_id
                )
                if existing != fingerprint:
                    raise OrderConflict(f"order {order_id} exists with another request")
                return False
            for line_no, item in enumerate(request["items"], start=1):
                conn.run(
                    "INSERT INTO order_items (order_id, line_no, sku, quantity, unit_price)"
                    " VALUES (:o, :n, :s, :q, :p)",
                    o=order_id,
                    n=line_no,
                    s=item["sku"],
                    q=item["quantity"],
                    p=item["unitPrice"],
                )
            conn.run(
                "INSERT INTO payments (order_id, status, amount, currency) "
                "VALUES (:o, 'PENDING', :a, :c)",
                o=order_id,
                a=total,
                c=request["currency"],
            )
            _record(conn, order_id, "ReserveOrder", "applied")
            return True

    def payment(self, order_id: str) -> dict[str, Any] | None:
        """The order's payment row, or None when the order was never reserved."""
        rows = self._db.connection().run(
            "SELECT status, amount, currency, authorization_id, capture_id, decline_reason "
            "FROM payments WHERE order_id = :o",
            o=order_id,
        )
        if not rows:
            return None
        status, amount, currency, auth, capture, decline = rows[0]
        return {
            "status": status,
            "amount": amount,
            "currency": currency,
            "authorization_id": auth,
            "capture_id": capture,
            "decline_reason": decline,
        }

    def order(self, order_id: str) -> dict[str, Any] | None:
        """The order's customer, total, status and version, or None."""
        rows = self._db.connection().run(
            "SELECT customer_id, total, currency, status, version FROM orders WHERE order_id = :o",
            o=order_id,
        )
        if not rows:
            return None
        customer, total, currency, status, version = rows[0]
        return {
            "customer_id": customer,
            "total": total,
            "currency": currency,
            "status": status,
            "version": version,
        }

    def set_payment(
        self,
        order_id: str,
        step: str,
        payment_status: str,
        order_status: OrderStatus | None = None,
        **ids: str | None,
    ) -> None:
        """Record a payment outcome (and the order's matching status) for ``step``, once."""
        with self._db.transaction() as conn:
            if not _record(conn, order_id, step, payment_status.lower()):
                return
            conn.run(
                "UPDATE payments SET status = :st, updated_at = now(), "
                "authorization_id = COALESCE(:a, authorization_id), "
                "capture_id = COALESCE(:c, capture_id), "
                "refund_id = COALESCE(:r, refund_id), "
                "decline_reason = COALESCE(:d, decline_reason) WHERE order_id = :o",
                o=order_id,
                st=payment_status,
                a=ids.get("authorization_id"),
                c=ids.get("capture_id"),
                r=ids.get("refund_id"),
                d=ids.get("decline_reason"),
            )
            _bump(conn, order_id, order_status)

    def note(self, order_id: str, step: str, outcome: str) -> None:
        """Record that ``step`` ran for the order with nothing to do."""
        with self._db.transaction() as conn:
            _record(conn, order_id, step, outcome)

    def apply_to_customer(self, order_id: str, customer_id: str, amount: int) -> None:
        """Add the order to the customer's lifetime value and make it the last order, once."""
        with self._db.transaction() as conn:
            if not _record(conn, order_id, "UpdateCustomer", "applied"):
                return
            conn.run(
                "INSERT INTO customers (customer_id) VALUES (:c) "
                "ON CONFLICT (customer_id) DO NOTHING",
                c=customer_id,
            )
            [[previous]] = conn.run(
                "SELECT last_order_id FROM customers WHERE customer_id = :c FOR UPDATE",
                c=customer_id,
            )
            conn.run(
                "INSERT INTO customer_ledger (order_id, customer_id, amount, "
                "previous_last_order_id) VALUES (:o, :c, :a, :p)",
                o=order_id,
                c=customer_id,
                a=amount,
                p=previous,
            )
            conn.run(
                "UPDATE customers SET lifetime_value = lifetime_value + :a, "
                "order_count = order_count + 1, last_order_id = :o, updated_at = now() "
                "WHERE customer_id = :c",
                a=amount,
                o=order_id,
                c=customer_id,
            )

    def revert_customer(self, order_id: str) -> bool:
        """Take back what UpdateCustomer added, once; False when there was nothing."""
        with self._db.transaction() as conn:
            rows = conn.run(
                "SELECT customer_id, amount, previous_last_order_id FROM "
                "customer_ledger WHERE order_id = :o AND reverted_at IS NULL "
                "FOR UPDATE",
                o=order_id,
            )
            if not _record(conn, order_id, "RevertCustomer", "applied" if rows else "nothing"):
                return False
            if not rows:
                return False
            customer, amount, previous = rows[0]
            conn.run(
                "UPDATE customers SET lifetime_value = lifetime_value - :a, "
                "order_count = order_count - 1, updated_at = now(), "
                "last_order_id = CASE WHEN last_order_id = :o THEN :p "
                "ELSE last_order_id END WHERE customer_id = :c",
                a=amount,
                o=order_id,
                p=previous,
                c=customer,
            )
            conn.run(
                "UPDATE customer_ledger SET reverted_at = now() WHERE order_id = :o", o=order_id
            )
            return True

    def set_status(
        self, order_id: str, step: str, status: OrderStatus, cause: str | None = None
    ) -> bool:
        """Move the order to ``status`` for ``step``, once; False if already done."""
        with self._db.transaction() as conn:
            if not _record(conn, order_id, step, status.value.lower()):
                return False
            _bump(conn, order_id, status, cause)
            return True


def load_snapshot(db: Database, order_id: str) -> Snapshot | None:
    """The order, its lines and its payment status as one consistent snapshot, or None."""
    with db.transaction() as conn:
        rows = conn.run(
            "SELECT o.customer_id, o.status, o.currency, o.total, o.version, o.created_at, "
            "o.updated_at, COALESCE(p.status, 'PENDING') FROM orders o "
            "LEFT JOIN payments p USING (order_id) WHERE o.order_id = :o",
            o=order_id,
        )
        if not rows:
            return None
        items = conn.run(
            "SELECT sku, quantity, unit_price FROM order_items WHERE order_id = :o"
            " ORDER BY line_no",
            o=order_id,
        )
    customer, status, currency, total, version, created, updated, payment = rows[0]
    return Snapshot(
        order_id,
        customer,
        status,
        currency.strip(),
        total,
        tuple((s, q, p) for s, q, p in items),
        payment,
        version,
        created,
        updated,
    )
