-- `claim_inbound` also says, of each message it leases, whether its sender has another
-- pending message behind it (`more`).
--
-- A dispatcher's worker used to go again at once after every round that did work, since the
-- round might have freed a customer's next message, which nothing signals. Most of those
-- rounds found nothing: at a quiet rate, 2.4 claims for every message handled (BENCHMARKS.md,
-- 2026-12-07, eleventh session). Now a worker goes again when a message it claimed had one
-- behind it, or when a wake-up came while its round ran (`src/rounds.rs` says why that is
-- enough); otherwise it waits to be woken.
--
-- The count comes from the rows the claim reads already to find each customer's head: all of
-- the customer's pending messages from the first the claim saw of theirs. The heads are now
-- found in a statement of their own, into two arrays (the heads; those with more behind), and
-- leased by key from the first: carried into the lease as rows, joined or looked up, the
-- count cost a claim about 40% more at full speed (BENCHMARKS.md, 2026-12-07, thirteenth
-- session). Between the two statements no other claim can lease these customers' messages:
-- this one holds their locks.
--
-- A function's result columns cannot change in place, so it is dropped and made again, in this
-- migration's one transaction. Otherwise as migration 32 (see there).
DROP FUNCTION claim_inbound(TEXT, TIMESTAMPTZ, TIMESTAMPTZ, BIGINT, BIGINT, INTEGER);

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
    wrote_before TIMESTAMPTZ,
    more BOOLEAN
)
LANGUAGE plpgsql VOLATILE
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $$
#variable_conflict use_column
DECLARE
    locked TEXT[];
    firsts BIGINT[];
    tops BIGINT[];
    behind BIGINT[];
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
    -- breaks ties), and only if none of theirs is under a live lease; with it, whether another
    -- of theirs is pending behind it. The other claims cannot lease these customers' messages
    -- meanwhile: this claim holds their locks until it commits.
    SELECT array_agg(h.seq), COALESCE(array_agg(h.seq) FILTER (WHERE h.pending > 1), '{}')
    INTO tops, behind
    FROM (
        SELECT h.seq,
               ROW_NUMBER() OVER (PARTITION BY h.sender_key
                                  ORDER BY COALESCE(h.sent_at, h.received_at), h.seq) AS position,
               MAX(CASE WHEN h.leased_until > p_now THEN 1 ELSE 0 END)
                   OVER (PARTITION BY h.sender_key) AS busy,
               COUNT(*) OVER (PARTITION BY h.sender_key) AS pending
        FROM unnest(locked, firsts) AS k(sender_key, first_seq)
        JOIN inbox_messages h ON h.sender_key = k.sender_key AND h.seq >= k.first_seq
        WHERE (h.state || '') = 'pending'
    ) h
    WHERE h.position = 1 AND h.busy = 0;

    IF tops IS NULL THEN
        RETURN;
    END IF;

    -- The heads are leased; rows another transaction holds are skipped, not waited for.
    RETURN QUERY
    WITH picked AS MATERIALIZED (
        SELECT i.seq FROM inbox_messages i
        WHERE i.seq = ANY (tops)
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
                    ORDER BY e.seq DESC LIMIT 20) e),
              m.seq = ANY (behind);
END;
$$;
