-- The write canary places about 8,640 synthetic orders a month per region (functions/synthetic.py).
-- Their view items expire from the global table after a week; this function deletes their rows
-- here after the same week, in bounded batches, when the drainer asks. It runs with its owner's
-- rights and touches only the canary's customer ('synthetic-canary', the one value of
-- functions/synthetic.py CUSTOMER_ID) and only orders that have ended and whose events were all
-- published: no call of it can remove a customer's order or an event still to publish. Whatever
-- it is asked, it keeps a day of them and deletes 1,000 at most.
CREATE FUNCTION prune_synthetic_orders(older_than_seconds integer, max_rows integer)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    doomed text[];
BEGIN
    SELECT coalesce(array_agg(order_id), '{}') INTO doomed FROM (
        SELECT o.order_id FROM orders o
        WHERE o.customer_id = 'synthetic-canary'
          AND o.status IN ('CONFIRMED', 'FAILED')
          AND o.created_at < now() - make_interval(secs => GREATEST(older_than_seconds, 86400))
          AND NOT EXISTS (
              SELECT 1 FROM outbox e WHERE e.order_id = o.order_id AND e.published_at IS NULL
          )
        ORDER BY o.created_at
        LIMIT LEAST(max_rows, 1000)
        FOR UPDATE OF o SKIP LOCKED
    ) ended;
    DELETE FROM outbox WHERE order_id = ANY (doomed);
    DELETE FROM saga_steps WHERE order_id = ANY (doomed);
    DELETE FROM customer_ledger WHERE order_id = ANY (doomed);
    DELETE FROM payments WHERE order_id = ANY (doomed);
    DELETE FROM order_items WHERE order_id = ANY (doomed);
    DELETE FROM orders WHERE order_id = ANY (doomed);
    RETURN cardinality(doomed);
END
$$;
REVOKE ALL ON FUNCTION prune_synthetic_orders(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION prune_synthetic_orders(integer, integer) TO orders_app;
