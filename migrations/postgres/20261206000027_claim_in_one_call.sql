-- A dispatcher's claim of inbound messages in one call (`PostgresStore::claim_inbound`).
--
-- The claim is two statements in one unit of work: the first picks candidate customers from
-- the front of the queue and takes a transaction-level advisory lock on each one it can (class
-- `p_class`, the customer's key hashed); the second, with a snapshot taken after those locks,
-- leases each locked customer's head, so that a claim never leases a message of a customer
-- another claim is leasing. From teller that was BEGIN, two statements and COMMIT: four round
-- trips that every message waits for, once the database is across a network. Here they are
-- one: a volatile PL/pgSQL function takes a fresh snapshot for each statement it runs, so the
-- second still sees every lease committed before its locks were taken, and the statement that
-- calls it is its own transaction, which holds the locks until it commits.
--
-- A claim only takes leases, so its commit does not wait for the disk (a lease lost in a crash
-- of the server is as if it had run out; see `LEASE_ONLY` in the store).
--
-- `p_window` bounds the rows read at the front of the queue (`CLAIM_WINDOW` times the batch);
-- the columns returned are a `ClaimedMessage` with its sender's standing, as the statements in
-- `src/store/dispatch.rs` (`free_senders`, `sender_standing`) compute them for SQLite.
CREATE FUNCTION claim_inbound(
    p_owner TEXT,
    p_now TIMESTAMPTZ,
    p_until TIMESTAMPTZ,
    p_limit BIGINT,
    p_window BIGINT,
    p_class INTEGER
)
RETURNS TABLE (
    seq BIGINT,
    message_id TEXT,
    sender_key TEXT,
    phone_number_id TEXT,
    message JSONB,
    attempts INTEGER,
    registered BOOLEAN,
    language TEXT,
    wrote_before TIMESTAMPTZ
)
LANGUAGE plpgsql VOLATILE
AS $$
#variable_conflict use_column
DECLARE
    locked TEXT[];
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);

    -- The candidates are chosen before any is locked: a lock is never taken on a customer the
    -- claim then leaves.
    WITH candidates AS MATERIALIZED (
        SELECT f.sender_key FROM
            (SELECT i.sender_key, i.seq, i.leased_until FROM inbox_messages i
             WHERE i.state = 'pending' ORDER BY i.seq LIMIT p_window) f
        GROUP BY f.sender_key
        HAVING max(CASE WHEN f.leased_until > p_now THEN 1 ELSE 0 END) = 0
        ORDER BY min(f.seq) LIMIT p_limit
    )
    SELECT array_agg(c.sender_key) INTO locked
    FROM candidates c WHERE pg_try_advisory_xact_lock(p_class, hashtext(c.sender_key));

    IF locked IS NULL THEN
        RETURN;
    END IF;

    -- Each locked customer's head, judged afresh: their earliest-sent pending message (arrival
    -- breaks ties), and only if none of theirs is under a live lease. Rows another transaction
    -- holds are skipped, not waited for.
    RETURN QUERY
    WITH heads AS (
        SELECT h.seq,
               ROW_NUMBER() OVER (PARTITION BY h.sender_key
                                  ORDER BY COALESCE(h.sent_at, h.received_at), h.seq) AS position,
               MAX(CASE WHEN h.leased_until > p_now THEN 1 ELSE 0 END)
                   OVER (PARTITION BY h.sender_key) AS busy
        FROM inbox_messages h WHERE h.state = 'pending' AND h.sender_key = ANY(locked)
    ),
    picked AS MATERIALIZED (
        SELECT i.seq FROM inbox_messages i
        WHERE i.seq IN (SELECT heads.seq FROM heads WHERE heads.position = 1 AND heads.busy = 0)
        ORDER BY i.seq LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    )
    UPDATE inbox_messages m
    SET lease_owner = p_owner, leased_until = p_until, attempts = m.attempts + 1
    FROM picked
    WHERE m.seq = picked.seq
      AND m.state = 'pending' AND (m.leased_until IS NULL OR m.leased_until <= p_now)
    RETURNING m.seq, m.message_id, m.sender_key, m.phone_number_id, m.message, m.attempts,
              EXISTS (SELECT 1 FROM customer_aliases a WHERE a.alias = m.sender_key),
              (SELECT p.language FROM customer_preferences p WHERE p.recipient_key = m.sender_key),
              (SELECT max(COALESCE(e.sent_at, e.received_at)) FROM
                   (SELECT e.sent_at, e.received_at FROM inbox_messages e
                    WHERE e.sender_key = m.sender_key AND e.kind <> 'system' AND e.seq < m.seq
                    ORDER BY e.seq DESC LIMIT 20) e);
END;
$$;
