-- `claim_inbound` finds each locked customer's head among that customer's own rows, whatever
-- the statistics say.
--
-- Migration 27 read the heads with `state = 'pending' AND sender_key = ANY(locked)`. A queue is
-- often vacuumed while nothing is pending, which leaves the statistics saying the pending
-- indexes are empty whatever they later hold; reading all of one then looks free. When a
-- backlog formed (an outage, a flood), the planner read the whole index of pending messages
-- for each claim to pick out its 64 customers' rows, and did it again to lease them: 50,000
-- pending messages made a claim take 400 ms until a vacuum corrected the statistics
-- (BENCHMARKS.md, 2026-12-06, seventh session).
--
-- Now each locked customer is probed on its own, from the first pending message the claim saw
-- of theirs: the window is the front of the queue in arrival order, so none of their pending
-- messages came before it. (One that commits between the window and the probe with a lower
-- seq counts as arriving after the claim, as it would a moment later.) That is a range of the
-- index on (sender_key, seq), a few rows a customer. The lease is then taken on the picked
-- rows by key. In both statements the state is compared as `state || ''`, which no partial
-- index matches, so that no plan can read every customer's pending messages to find a few (the
-- PostgreSQL store's notes, "queue rows by key", say the same of its statements).
--
-- The opposite hazard: the plan is made once per connection, perhaps on tables still empty
-- after a deploy, when reading a whole table looks cheapest. So the function plans without
-- sequential scans (`enable_seqscan = off`): every row it reads, it reads through an index.
-- `tests/integration/queue_history.rs` holds both: a round against a long history with plans
-- made on empty tables, and a round against a backlog the statistics have not seen.
--
-- The partial index of pending messages by sender (migration 2) served only the heads, and is
-- dropped: one index entry fewer written for every message.
--
-- Otherwise as migration 27 (see there), with one plan per connection as migration 31 made it.
DROP INDEX inbox_messages_pending_by_sender;

CREATE OR REPLACE FUNCTION claim_inbound(
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
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $$
#variable_conflict use_column
DECLARE
    locked TEXT[];
    firsts BIGINT[];
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);

    -- The candidates are chosen before any is locked: a lock is never taken on a customer the
    -- claim then leaves.
    WITH candidates AS MATERIALIZED (
        SELECT f.sender_key, min(f.seq) AS first_seq FROM
            (SELECT i.sender_key, i.seq, i.leased_until FROM inbox_messages i
             WHERE i.state = 'pending' ORDER BY i.seq LIMIT p_window) f
        GROUP BY f.sender_key
        HAVING max(CASE WHEN f.leased_until > p_now THEN 1 ELSE 0 END) = 0
        ORDER BY min(f.seq) LIMIT p_limit
    )
    SELECT array_agg(c.sender_key), array_agg(c.first_seq) INTO locked, firsts
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
        FROM unnest(locked, firsts) AS k(sender_key, first_seq)
        JOIN inbox_messages h ON h.sender_key = k.sender_key AND h.seq >= k.first_seq
        WHERE (h.state || '') = 'pending'
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
      AND (m.state || '') = 'pending' AND (m.leased_until IS NULL OR m.leased_until <= p_now)
    RETURNING m.seq, m.message_id, m.sender_key, m.phone_number_id, m.message, m.attempts,
              EXISTS (SELECT 1 FROM customer_aliases a WHERE a.alias = m.sender_key),
              (SELECT p.language FROM customer_preferences p WHERE p.recipient_key = m.sender_key),
              (SELECT max(COALESCE(e.sent_at, e.received_at)) FROM
                   (SELECT e.sent_at, e.received_at FROM inbox_messages e
                    WHERE e.sender_key = m.sender_key AND e.kind <> 'system' AND e.seq < m.seq
                    ORDER BY e.seq DESC LIMIT 20) e);
END;
$$;
