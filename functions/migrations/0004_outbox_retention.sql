-- Published events leave the outbox after a retention period (OUTBOX_RETENTION_DAYS, 7 by
-- default): the bus's archive and the lake keep them, and an outbox that only grows slows every
-- drain. The drainer deletes them in bounded batches through this function, which runs with its
-- owner's rights: the app role may call it, and still may not DELETE from the outbox, so no
-- function of the app can remove an event that was never published.
CREATE INDEX outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL;

CREATE FUNCTION prune_outbox(older_than_seconds integer, max_rows integer) RETURNS integer
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH gone AS (
        DELETE FROM outbox WHERE seq IN (
            SELECT seq FROM outbox
            WHERE published_at < now() - make_interval(secs => older_than_seconds)
            ORDER BY seq LIMIT max_rows
        )
        RETURNING 1
    )
    SELECT count(*)::integer FROM gone
$$;
REVOKE ALL ON FUNCTION prune_outbox(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION prune_outbox(integer, integer) TO orders_app;
