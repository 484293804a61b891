-- The transactional outbox: every domain event is written in the same transaction as the change
-- it describes, and published afterwards by whoever drains the outbox (the step that made the
-- change, right after its commit, and the scheduled drainer). A bus that refuses events for
-- hours then delays them; it can never fail, or compensate, an order.
CREATE TABLE outbox (
    seq          bigserial PRIMARY KEY,
    order_id     text NOT NULL,
    detail_type  text NOT NULL,
    -- The event's detail, as the JSON text put on the bus.
    detail       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    attempts     integer NOT NULL DEFAULT 0,
    last_error   text
);
CREATE INDEX outbox_pending ON outbox (seq) WHERE published_at IS NULL;

-- Authorization requests sent to the provider whose outcome the saga did not learn (a timeout,
-- a 5xx, a crash mid-call). While it is above zero an authorization may exist at the provider
-- under the order's idempotency key, so VoidAuthorization looks it up there before it decides
-- that nothing is held.
ALTER TABLE payments
    ADD COLUMN authorizations_in_doubt integer NOT NULL DEFAULT 0
    CHECK (authorizations_in_doubt >= 0);

-- The drainer looks every minute for recent FAILED orders whose payment still holds money.
CREATE INDEX orders_failed_by_update ON orders (updated_at) WHERE status = 'FAILED';

-- Exactly what functions/orders/store.py runs on the outbox: insert, read, mark published.
GRANT SELECT, INSERT, UPDATE ON outbox TO orders_app;
GRANT USAGE ON SEQUENCE outbox_seq_seq TO orders_app;
