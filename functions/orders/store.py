"""The saga's SQL: every method is one transaction, and a change writes its event with it.

Forward steps (``advance``, ``confirm``) lock the order's row and take effect only while the
order may still move that way: once it has ended (FAILED, or CONFIRMED) they change nothing,
which is what makes an ended order final against reruns and late steps. ``saga_steps``
records which step took effect, so a retried step does not take effect twice. Compensations
(``fail``, ``settle``) are idempotent on the state they move from, so a rerun can still
finish what an earlier run left undone.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Collection
from typing import Any

import pg8000.native

from functions import correlation
from functions.orders.db import Database
from functions.orders.domain import OrderStatus, can_transition, check_transition
from functions.orders.errors import OrderConflict
from functions.orders.outbox import BATCH, PRUNE_BATCH, Batch, OutboxEvent, Publish
from functions.orders.projection import Snapshot

FINAL = frozenset({OrderStatus.CONFIRMED.value, OrderStatus.FAILED.value})


class Applied(enum.Enum):
    """What a forward step's change came to."""

    APPLIED = "applied"
    # An earlier attempt of the step took effect: nothing more to do.
    ALREADY = "already"
    # The order ended (FAILED) before this change: nothing was changed.
    ENDED = "ended"


class Failing(enum.Enum):
    """What marking an order FAILED found."""

    FAILED = "failed"
    ALREADY_FAILED = "already failed"
    CONFIRMED = "confirmed"
    NO_ORDER = "no order"


def _record(conn: pg8000.native.Connection, order_id: str, step: str, outcome: str) -> bool:
    rows = conn.run(
        "INSERT INTO saga_steps (order_id, step, outcome) VALUES (:o, :s, :r) "
        "ON CONFLICT (order_id, step) DO NOTHING RETURNING seq",
        o=order_id,
        s=step,
        r=outcome,
    )
    return bool(rows)


def _recorded(conn: pg8000.native.Connection, order_id: str, step: str) -> bool:
    rows = conn.run(
        "SELECT 1 FROM saga_steps WHERE order_id = :o AND step = :s", o=order_id, s=step
    )
    return bool(rows)


def _lock(conn: pg8000.native.Connection, order_id: str) -> str | None:
    """The order's status, its row locked until the transaction ends; None without an order."""
    rows = conn.run("SELECT status FROM orders WHERE order_id = :o FOR UPDATE", o=order_id)
    return str(rows[0][0]) if rows else None


def _bump(
    conn: pg8000.native.Connection,
    order_id: str,
    event: str | None,
    status: OrderStatus | None = None,
    cause: str | None = None,
) -> None:
    """A new version of the order (the projector's order of views), and its event, if any."""
    [[customer, new_status, version]] = conn.run(
        "UPDATE orders SET version = version + 1, updated_at = now(), "
        "status = COALESCE(:st, status), failure_cause = COALESCE(:c, failure_cause) "
        "WHERE order_id = :o RETURNING customer_id, status, version",
        o=order_id,
        st=status.value if status else None,
        c=cause,
    )
    if event is not None:
        _emit(conn, order_id, event, customer, new_status, version)


def _emit(
    conn: pg8000.native.Connection,
    order_id: str,
    event: str,
    customer: str,
    status: str,
    version: int,
) -> None:
    detail: dict[str, Any] = {
        "orderId": order_id,
        "customerId": customer,
        "status": status,
        "version": version,
    }
    # The request that caused the change (the saga's input carries it), for the logs of
    # whoever takes the event: the projector, then the notifier.
    correlation_id = correlation.current()
    if correlation_id is not None:
        detail[correlation.FIELD] = correlation_id
    conn.run(
        "INSERT INTO outbox (order_id, detail_type, detail) VALUES (:o, :t, :d)",
        o=order_id,
        t=event,
        d=json.dumps(detail, sort_keys=True),
    )


def _set_payment(
    conn: pg8000.native.Connection,
    order_id: str,
    status: str,
    from_statuses: Collection[str] | None = None,
    **ids: str | None,
) -> bool:
    """Move the payment to ``status`` (only from ``from_statuses``, when given); True if moved."""
    guard = "" if from_statuses is None else " AND status = ANY(CAST(:f AS text[]))"
    params: dict[str, Any] = {"o": order_id, "st": status}
    if from_statuses is not None:
        params["f"] = sorted(from_statuses)
    rows = conn.run(
        "UPDATE payments SET status = :st, updated_at = now(), authorizations_in_doubt = 0, "
        "authorization_id = COALESCE(:a, authorization_id), "
        "capture_id = COALESCE(:c, capture_id), "
        "refund_id = COALESCE(:r, refund_id), "
        "decline_reason = COALESCE(:d, decline_reason) "
        f"WHERE order_id = :o{guard} RETURNING order_id",
        a=ids.get("authorization_id"),
        c=ids.get("capture_id"),
        r=ids.get("refund_id"),
        d=ids.get("decline_reason"),
        **params,
    )
    return bool(rows)


class PostgresOrderStore:
    """The normalized write model in Aurora PostgreSQL."""

    def __init__(self, db: Database):
        self._db = db

    def done(self, order_id: str, step: str) -> bool:
        """True when ``step`` already took effect (or was noted) for the order."""
        return _recorded(self._db.connection(), order_id, step)

    def reserve(self, order_id: str, fingerprint: str, request: dict[str, Any], total: int) -> bool:
        """Insert the order, its lines and its pending payment; False if it already existed.

        Raises OrderConflict when the order exists for another request (the key was reused).
        """
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
            _emit(conn, order_id, "OrderPlaced", request["customerId"], "PENDING", 1)
            return True

    def payment(self, order_id: str) -> dict[str, Any] | None:
        """The order's payment row, or None when the order was never reserved."""
        rows = self._db.connection().run(
            "SELECT status, amount, currency, authorization_id, capture_id, refund_id, "
            "decline_reason, authorizations_in_doubt FROM payments WHERE order_id = :o",
            o=order_id,
        )
        if not rows:
            return None
        status, amount, currency, auth, capture, refund, decline, in_doubt = rows[0]
        return {
            "status": status,
            "amount": amount,
            "currency": currency,
            "authorization_id": auth,
            "capture_id": capture,
            "refund_id": refund,
            "decline_reason": decline,
            "authorizations_in_doubt": in_doubt,
        }

    def order(self, order_id: str) -> dict[str, Any] | None:
        """The order's customer, total, status, version and request fingerprint, or None."""
        rows = self._db.connection().run(
            "SELECT customer_id, total, currency, status, version, fingerprint "
            "FROM orders WHERE order_id = :o",
            o=order_id,
        )
        if not rows:
            return None
        customer, total, currency, status, version, fingerprint = rows[0]
        return {
            "customer_id": customer,
            "total": total,
            "currency": currency.strip(),
            "status": status,
            "version": version,
            "fingerprint": fingerprint,
        }

    def authorization_sent(self, order_id: str) -> bool:
        """Count an authorization request about to be sent; False (send none) once it ended.

        Counted before sending, so a crash or a lost answer leaves the doubt on record for
        VoidAuthorization, which then asks the provider.
        """
        with self._db.transaction() as conn:
            if _lock(conn, order_id) != OrderStatus.PENDING.value:
                return False
            rows = conn.run(
                "UPDATE payments SET authorizations_in_doubt = authorizations_in_doubt + 1 "
                "WHERE order_id = :o AND status = 'PENDING' RETURNING order_id",
                o=order_id,
            )
            return bool(rows)

    def authorization_refused(self, order_id: str) -> None:
        """The provider refused the request at the door (its key, the request): no doubt."""
        with self._db.transaction() as conn:
            conn.run(
                "UPDATE payments SET authorizations_in_doubt = "
                "GREATEST(authorizations_in_doubt - 1, 0) WHERE order_id = :o",
                o=order_id,
            )

    def decline(self, order_id: str, reason: str) -> None:
        """Record the provider's decline, once; the order fails in the compensations."""
        with self._db.transaction() as conn:
            _lock(conn, order_id)
            if not _record(conn, order_id, "AuthorizePayment", "declined"):
                return
            _set_payment(conn, order_id, "DECLINED", {"PENDING"}, decline_reason=reason)
            _bump(conn, order_id, "PaymentDeclined")

    def advance(
        self,
        order_id: str,
        step: str,
        order_status: OrderStatus,
        payment_status: str,
        event: str,
        **ids: str | None,
    ) -> Applied:
        """A forward step's payment outcome and the order's new status, with its event, once.

        ENDED, changing nothing, when the order can no longer move to ``order_status``: it
        failed meanwhile, and the caller must undo what it did at the provider.
        """
        with self._db.transaction() as conn:
            current = _lock(conn, order_id)
            if current is None:
                raise RuntimeError(f"order {order_id} was never reserved")
            if _recorded(conn, order_id, step):
                return Applied.ALREADY
            if not can_transition(OrderStatus(current), order_status):
                if current in FINAL:
                    return Applied.ENDED
                check_transition(OrderStatus(current), order_status)
            _record(conn, order_id, step, payment_status.lower())
            _set_payment(conn, order_id, payment_status, **ids)
            _bump(conn, order_id, event, order_status)
            return Applied.APPLIED

    def settle(
        self,
        order_id: str,
        from_statuses: Collection[str],
        payment_status: str,
        event: str | None,
        **ids: str | None,
    ) -> bool:
        """Move the payment from one of ``from_statuses`` to ``payment_status``; True if moved.

        What the compensations (and a late step undoing itself) record: idempotent on the
        payment's state, so it works on a rerun too. The order's status stays as it is.
        """
        with self._db.transaction() as conn:
            _lock(conn, order_id)
            if not _set_payment(conn, order_id, payment_status, from_statuses, **ids):
                return False
            _bump(conn, order_id, event)
            return True

    def fail(self, order_id: str, cause: str) -> Failing:
        """Mark the order FAILED with ``cause``, unless it is CONFIRMED or FAILED already.

        The first compensation does this before anything else, so no forward step (a late
        one, or one of a rerun) can take effect on the order any more; the first cause stays.
        """
        with self._db.transaction() as conn:
            current = _lock(conn, order_id)
            if current is None:
                return Failing.NO_ORDER
            if current == OrderStatus.CONFIRMED.value:
                return Failing.CONFIRMED
            if current == OrderStatus.FAILED.value:
                return Failing.ALREADY_FAILED
            _bump(conn, order_id, "OrderFailed", OrderStatus.FAILED, cause)
            return Failing.FAILED

    def confirm(self, order_id: str) -> Applied:
        """CONFIRMED, and the order counted in its customer's lifetime value, in one commit.

        So a customer counts an order once, and only a confirmed one. ENDED when the order
        failed before it could be confirmed.
        """
        with self._db.transaction() as conn:
            current = _lock(conn, order_id)
            if current is None:
                raise RuntimeError(f"order {order_id} was never reserved")
            if _recorded(conn, order_id, "ConfirmOrder"):
                return Applied.ALREADY
            if current == OrderStatus.FAILED.value:
                return Applied.ENDED
            check_transition(OrderStatus(current), OrderStatus.CONFIRMED)
            [[customer, total]] = conn.run(
                "SELECT customer_id, total FROM orders WHERE order_id = :o", o=order_id
            )
            self._count(conn, order_id, customer, total)
            _record(conn, order_id, "ConfirmOrder", "confirmed")
            _bump(conn, order_id, "OrderConfirmed", OrderStatus.CONFIRMED)
            return Applied.APPLIED

    @staticmethod
    def _count(conn: pg8000.native.Connection, order_id: str, customer: str, amount: int) -> None:
        conn.run(
            "INSERT INTO customers (customer_id) VALUES (:c) ON CONFLICT (customer_id) DO NOTHING",
            c=customer,
        )
        [[previous]] = conn.run(
            "SELECT last_order_id FROM customers WHERE customer_id = :c FOR UPDATE", c=customer
        )
        counted = conn.run(
            "INSERT INTO customer_ledger (order_id, customer_id, amount, previous_last_order_id)"
            " VALUES (:o, :c, :a, :p) ON CONFLICT (order_id) DO NOTHING RETURNING order_id",
            o=order_id,
            c=customer,
            a=amount,
            p=previous,
        )
        if counted:
            conn.run(
                "UPDATE customers SET lifetime_value = lifetime_value + :a, "
                "order_count = order_count + 1, last_order_id = :o, updated_at = now() "
                "WHERE customer_id = :c",
                a=amount,
                o=order_id,
                c=customer,
            )

    def intend(self, order_id: str, step: str) -> bool:
        """Record that ``step`` is about to call out for a CAPTURED order; False once ended.

        Under the order's lock, as ``fail`` is: either the intent is on record before the
        compensations look for it, or the order has ended and nothing is sent.
        """
        with self._db.transaction() as conn:
            if _lock(conn, order_id) != OrderStatus.CAPTURED.value:
                return False
            _record(conn, order_id, step, "sent")
            return True

    def note(self, order_id: str, step: str, outcome: str) -> None:
        """Record that ``step`` ran for the order, with its outcome (the first one stays)."""
        with self._db.transaction() as conn:
            _record(conn, order_id, step, outcome)

    def revert_customer(self, order_id: str) -> bool:
        """Take back what a customer was credited for the order, once; False when nothing.

        Only orders counted before ConfirmOrder did the counting (UpdateCustomer did) can
        have anything to take back: a confirmed order is never compensated.
        """
        with self._db.transaction() as conn:
            rows = conn.run(
                "SELECT customer_id, amount, previous_last_order_id FROM "
                "customer_ledger WHERE order_id = :o AND reverted_at IS NULL "
                "FOR UPDATE",
                o=order_id,
            )
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

    def prune_synthetic(self, older_than_seconds: int, limit: int = 500) -> int:
        """Delete up to ``limit`` synthetic orders (functions/synthetic.py) placed more than
        ``older_than_seconds`` ago that have ended and whose events were all published, with
        every row of theirs; how many went (500 a run at most: the drainer runs every minute,
        and every region's canary orders, about 864 a day with three regions, land here). No
        other order can be touched, and the database keeps a day of them whatever is asked."""
        # prune_synthetic_orders (migration 0005) deletes with its owner's rights.
        [[deleted]] = self._db.connection().run(
            "SELECT prune_synthetic_orders(:s, :n)", s=older_than_seconds, n=limit
        )
        return int(deleted)

    def failed_holding_money(self, older_than_seconds: int, within_days: int = 7) -> list[str]:
        """Orders that ended FAILED while their payment still holds money, for that long.

        Only orders changed in the last ``within_days``: an older one has been reported every
        minute for days already, and the look stays a short index scan.
        """
        rows = self._db.connection().run(
            "SELECT o.order_id FROM orders o JOIN payments p USING (order_id) "
            "WHERE o.status = 'FAILED' AND o.updated_at > now() - make_interval(days => CAST(:d AS integer)) "
            "AND p.status IN ('AUTHORIZED', 'CAPTURED') "
            "AND p.updated_at < now() - make_interval(secs => CAST(:s AS double precision)) "
            "ORDER BY o.order_id",
            s=older_than_seconds,
            d=within_days,
        )
        return [str(order_id) for (order_id,) in rows]


class PostgresOutbox:
    """The outbox table: events claimed with SKIP LOCKED, so drainers never publish twice."""

    def __init__(self, db: Database):
        self._db = db

    def writes(self) -> bool:
        """True when this region's cluster takes writes (a secondary's cannot mark events)."""
        [[read_only]] = self._db.connection().run("SELECT current_setting('transaction_read_only')")
        return read_only == "off"

    def drain_batch(self, publish: Publish, order_id: str | None = None) -> Batch:
        """Claim up to BATCH pending events (of one order, if given), publish, mark them."""
        with self._db.transaction() as conn:
            rows = conn.run(
                "SELECT seq, order_id, detail_type, detail FROM outbox "
                "WHERE published_at IS NULL AND (CAST(:o AS text) IS NULL OR order_id = :o) "
                "ORDER BY seq LIMIT :n FOR UPDATE SKIP LOCKED",
                o=order_id,
                n=BATCH,
            )
            if not rows:
                return Batch(0, 0)
            events = [OutboxEvent(int(seq), str(o), str(t), str(d)) for seq, o, t, d in rows]
            errors = list(publish(events))
            taken = [e.seq for e, error in zip(events, errors, strict=True) if error is None]
            refused = {e.seq: error for e, error in zip(events, errors, strict=True) if error}
            if taken:
                conn.run(
                    "UPDATE outbox SET published_at = now(), attempts = attempts + 1 "
                    "WHERE seq = ANY(CAST(:s AS bigint[]))",
                    s=taken,
                )
            for seq, error in refused.items():
                conn.run(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = :e WHERE seq = :s",
                    s=seq,
                    e=str(error)[:1000],
                )
            first_error = next(iter(refused.values()), None)
            return Batch(len(events), len(taken), first_error)

    def prune(self, older_than_seconds: int, limit: int = PRUNE_BATCH) -> int:
        """Delete up to ``limit`` events published more than ``older_than_seconds`` ago, oldest
        first; how many went. An event not yet published is never deleted, and the database
        keeps a day of published ones (and deletes 10,000 at most) whatever is asked."""
        # prune_outbox (migration 0004) deletes with its owner's rights; the app role has none.
        [[deleted]] = self._db.connection().run(
            "SELECT prune_outbox(:s, :n)", s=older_than_seconds, n=limit
        )
        return int(deleted)

    def pending(self) -> tuple[int, float]:
        """How many events wait, and how long the oldest has waited, in seconds."""
        [[count, age]] = self._db.connection().run(
            "SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0) "
            "FROM outbox WHERE published_at IS NULL"
        )
        return int(count), float(age)


def load_snapshot(db: Database, order_id: str) -> Snapshot | None:
    """The order, its lines and its payment status as one consistent snapshot, or None."""
    with db.transaction() as conn:
        rows = conn.run(
            "SELECT o.customer_id, o.status, o.currency, o.total, o.version, o.created_at, "
            "o.updated_at, COALESCE(p.status, 'PENDING'), o.fingerprint FROM orders o "
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
    customer, status, currency, total, version, created, updated, payment, fingerprint = rows[0]
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
        fingerprint,
    )
