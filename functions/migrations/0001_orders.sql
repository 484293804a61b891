-- The normalized write model of the checkout saga. Money is bigint minor units.

CREATE TABLE customers (
    customer_id    text PRIMARY KEY,
    lifetime_value bigint NOT NULL DEFAULT 0 CHECK (lifetime_value >= 0),
    order_count    integer NOT NULL DEFAULT 0 CHECK (order_count >= 0),
    last_order_id  text,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE orders (
    order_id      text PRIMARY KEY,
    customer_id   text NOT NULL,
    currency      char(3) NOT NULL,
    total         bigint NOT NULL CHECK (total > 0),
    status        text NOT NULL CHECK (status IN ('PENDING', 'AUTHORIZED', 'CAPTURED', 'CONFIRMED', 'FAILED')),
    failure_cause text,
    fingerprint   text NOT NULL,
    -- Grows on every change; the projector's conditional write compares it.
    version       bigint NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'FAILED') = (failure_cause IS NOT NULL))
);
CREATE INDEX orders_by_customer ON orders (customer_id, created_at DESC);

CREATE TABLE order_items (
    order_id   text NOT NULL REFERENCES orders (order_id),
    line_no    integer NOT NULL,
    sku        text NOT NULL,
    quantity   integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
    unit_price bigint NOT NULL CHECK (unit_price >= 0),
    PRIMARY KEY (order_id, line_no)
);

CREATE TABLE payments (
    order_id         text PRIMARY KEY REFERENCES orders (order_id),
    status           text NOT NULL CHECK (status IN ('PENDING', 'AUTHORIZED', 'DECLINED', 'CAPTURED', 'REFUNDED', 'VOIDED')),
    amount           bigint NOT NULL CHECK (amount > 0),
    currency         char(3) NOT NULL,
    authorization_id text,
    capture_id       text,
    refund_id        text,
    decline_reason   text,
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- What UpdateCustomer added to a customer, so RevertCustomer takes back exactly that, once.
CREATE TABLE customer_ledger (
    order_id    text PRIMARY KEY REFERENCES orders (order_id),
    customer_id text NOT NULL REFERENCES customers (customer_id),
    amount      bigint NOT NULL,
    previous_last_order_id text,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    reverted_at timestamptz
);

-- One row per saga step that took effect for an order: makes every step idempotent on the
-- order id, and is the audit trail of which compensations ran, in which order.
CREATE TABLE saga_steps (
    seq        bigserial PRIMARY KEY,
    order_id   text NOT NULL,
    step       text NOT NULL,
    outcome    text NOT NULL,
    done_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (order_id, step)
);
