-- Published events leave the outbox after a retention period (OUTBOX_RETENTION_DAYS, 7 by
-- default): the bus's archive and the lake keep them, and an outbox that only grows slows every
-- drain. The drainer deletes them in bounded batches through this function, which runs with its
-- owner's rights: the app role may call it, and still may not DELETE from the outbox, so no
-- function of the app can remove an event that was never published. Whatever it is asked, it
-- keeps a day of published events and deletes 10,000 at most. No new index: the oldest rows
-- by seq are the oldest published, so the primary key finds them (and an index built here
-- would lock the outbox, which every saga step writes, for as long as the build takes).

CREATE FUNCTION prune_outbox(older_than_seconds integer, max_rows integer) RETURNS integer
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH gone AS (
        DELETE FROM outbox WHERE seq IN (
            SELECT seq FROM outbox
            WHERE published_at < now() - make_interval(secs => GREATEST(older_than_seconds, 86400))
            ORDER BY seq LIMIT LEAST(max_rows, 10000)
        )
        RETURNING 1
    )
    SELECT count(*)::integer FROM gone
$$;
REVOKE ALL ON FUNCTION prune_outbox(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION prune_outbox(integer, integer) TO orders_app;
