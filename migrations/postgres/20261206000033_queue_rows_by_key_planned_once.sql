-- The statements that take queue rows by key run as functions planned by index alone, as the
-- inbound claim already does (migrations 31 and 32).
--
-- Migration 32 made them read their rows through the primary key, comparing the state as
-- `state || ''` so that no partial index matches. But each was a prepared statement of its
-- own, joining an array of keys to its table. PostgreSQL plans such a statement afresh for its
-- first five runs on a connection, then keeps one generic plan, made for the tables as they
-- were then. On a new deployment's empty tables (or a benchmark's) that plan reads the whole
-- table, which is cheapest while it holds a few rows, and keeps reading all of it as it grows,
-- until autovacuum's next analyze has the plan made again: measured, a round's record took
-- 2.2 ms instead of 0.25 at 300 messages a second, reading every message so far each time
-- (BENCHMARKS.md, 2026-12-06, ninth session). `tests/integration/queue_history.rs` now runs
-- its rounds on one connection, past the five, and caught the round's record and both of the
-- sender's statements reading 100,000 rows of history each.
--
-- So each becomes a function that plans without sequential scans (`enable_seqscan = off`) and
-- keeps one plan per connection (`plan_cache_mode = force_generic_plan`), as the claim does.
--
-- That alone leaves a second way to read every row: through an index, from end to end. To a
-- planner that believes a table empty (one vacuumed with nothing in it, as a queue is on a
-- quiet night), such a read looks as free as a sequential scan did. The sender's claim, planned
-- so, read the whole outbox for every claim, joined to its heads row by row: 200 ms a claim in
-- `scripts/bench-backlog`, and 120,708 rows read in the test's round (which now plans on queues
-- vacuumed empty as well). So wherever these statements join their keys to a queue table, they
-- also name the keys as `= ANY (keys)`, which the primary key's index answers directly, in any
-- join order. The statements are otherwise unchanged; the Rust beside each call says what it
-- does.

-- A dispatcher round's record (`RECORD_ROUND` in src/store/round.rs): each message finished
-- if the round's lease still holds it, its secret's webhook body replaced, the retried given an
-- earlier end to their lease, the replies of those finished queued in the order given. Returns
-- the seqs whose lease held. Its commit does not wait for the disk (see there why that is safe).
CREATE FUNCTION record_round(
    p_seqs BIGINT[],
    p_states TEXT[],
    p_redacted JSONB[],
    p_owner TEXT,
    p_now TIMESTAMPTZ,
    p_redacted_body BYTEA,
    p_retry_seqs BIGINT[],
    p_retry_at TIMESTAMPTZ[],
    p_answers BIGINT[],
    p_recipient_keys TEXT[],
    p_wa_ids TEXT[],
    p_bsuids TEXT[],
    p_in_reply_to TEXT[],
    p_bodies JSONB[],
    p_window_from TIMESTAMPTZ[],
    p_created_at TIMESTAMPTZ[],
    p_scrub_after TIMESTAMPTZ[],
    p_questions TEXT[]
)
RETURNS SETOF BIGINT
LANGUAGE plpgsql VOLATILE
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $$
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);

    RETURN QUERY
    WITH finished AS (
        UPDATE inbox_messages m
        SET state = f.state, processed_at = p_now, lease_owner = NULL, leased_until = NULL,
            message = COALESCE(f.redacted, m.message)
        FROM unnest(p_seqs, p_states, p_redacted) AS f(seq, state, redacted)
        WHERE m.seq = ANY (p_seqs) AND m.seq = f.seq
          AND m.lease_owner = p_owner AND (m.state || '') = 'pending'
        RETURNING m.seq, m.payload_id, f.redacted IS NOT NULL AS secret
    ),
    scrubbed AS (
        UPDATE webhook_payloads p SET body = p_redacted_body
        WHERE p.id = ANY (ARRAY(SELECT finished.payload_id FROM finished WHERE finished.secret))
    ),
    retried AS (
        UPDATE inbox_messages m SET leased_until = r.at
        FROM unnest(p_retry_seqs, p_retry_at) AS r(seq, at)
        WHERE m.seq = ANY (p_retry_seqs) AND m.seq = r.seq
          AND m.lease_owner = p_owner AND (m.state || '') = 'pending' AND m.leased_until > r.at
    ),
    queued AS (
        INSERT INTO outbox_messages (recipient_key, wa_id, bsuid, in_reply_to, body, window_from,
                                     created_at, scrub_after, question)
        SELECT r.recipient_key, r.wa_id, r.bsuid, r.in_reply_to, r.body, r.window_from,
               r.created_at, r.scrub_after, r.question
        FROM unnest(p_answers, p_recipient_keys, p_wa_ids, p_bsuids, p_in_reply_to, p_bodies,
                    p_window_from, p_created_at, p_scrub_after, p_questions)
             WITH ORDINALITY AS r(answers, recipient_key, wa_id, bsuid, in_reply_to, body, window_from,
                                  created_at, scrub_after, question, place)
        WHERE r.answers IN (SELECT finished.seq FROM finished)
        ORDER BY r.place
    )
    SELECT finished.seq FROM finished;
END;
$$;

-- The sender's claim (`claim_outbound` in src/store/postgres/mod.rs): for each recipient among
-- the first `p_window` pending replies, their lowest pending one, if due and not leased, leased
-- to `p_owner` until `p_until`; up to `p_limit` of them.
CREATE FUNCTION claim_outbound(
    p_owner TEXT,
    p_now TIMESTAMPTZ,
    p_until TIMESTAMPTZ,
    p_limit BIGINT,
    p_window BIGINT
)
RETURNS TABLE (
    id BIGINT,
    recipient_key TEXT,
    wa_id TEXT,
    bsuid TEXT,
    body JSONB,
    window_from TIMESTAMPTZ,
    attempts INTEGER,
    unknown_since TIMESTAMPTZ
)
LANGUAGE plpgsql VOLATILE
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH heads AS MATERIALIZED (
        SELECT min(front.id) AS id FROM
            (SELECT o.id, o.recipient_key FROM outbox_messages o
             WHERE o.state = 'pending' ORDER BY o.id LIMIT p_window) front
        GROUP BY front.recipient_key
    ),
    picked AS MATERIALIZED (
        SELECT o.id FROM outbox_messages o
        WHERE o.id = ANY (ARRAY(SELECT heads.id FROM heads))
          AND (o.leased_until IS NULL OR o.leased_until <= p_now)
          AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= p_now)
        ORDER BY o.id LIMIT p_limit
        FOR UPDATE OF o SKIP LOCKED
    )
    UPDATE outbox_messages m
    SET lease_owner = p_owner, leased_until = p_until, attempts = m.attempts + 1,
        unknown_since = CASE WHEN m.lease_owner IS NOT NULL THEN COALESCE(m.unknown_since, p_now)
                             ELSE m.unknown_since END
    WHERE m.id = ANY (ARRAY(SELECT picked.id FROM picked))
      AND (m.state || '') = 'pending' AND (m.leased_until IS NULL OR m.leased_until <= p_now)
    RETURNING m.id, m.recipient_key, m.wa_id, m.bsuid, m.body, m.window_from, m.attempts,
              m.unknown_since;
END;
$$;

-- How a round of sends ended (`settle_all` in src/store/postgres/tx.rs): each settlement's
-- columns as parallel arrays, fenced by the lease row by row. Returns the ids recorded.
CREATE FUNCTION settle_outbound(
    p_ids BIGINT[],
    p_kinds TEXT[],
    p_states TEXT[],
    p_provider_message_ids TEXT[],
    p_via_templates BOOLEAN[],
    p_ats TIMESTAMPTZ[],
    p_codes BIGINT[],
    p_messages TEXT[],
    p_now TIMESTAMPTZ,
    p_owner TEXT
)
RETURNS SETOF BIGINT
LANGUAGE plpgsql VOLATILE
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $$
BEGIN
    RETURN QUERY
    UPDATE outbox_messages o
    SET state = s.state,
        provider_message_id =
            CASE WHEN s.kind = 'sent' THEN s.provider_message_id ELSE o.provider_message_id END,
        via_template = CASE WHEN s.kind = 'sent' THEN s.via_template ELSE o.via_template END,
        settled_at = CASE WHEN s.state = 'pending' THEN o.settled_at ELSE p_now END,
        next_attempt_at = CASE WHEN s.state = 'pending' THEN s.at ELSE o.next_attempt_at END,
        error_code = CASE WHEN s.kind IN ('failed', 'retry') THEN s.code ELSE o.error_code END,
        error_message = CASE WHEN s.kind IN ('failed', 'retry') THEN s.message ELSE o.error_message END,
        attempts = o.attempts - CASE WHEN s.kind = 'postpone' THEN 1 ELSE 0 END,
        lease_owner = NULL, leased_until = NULL
    FROM unnest(p_ids, p_kinds, p_states, p_provider_message_ids, p_via_templates, p_ats, p_codes,
                p_messages) AS s(id, kind, state, provider_message_id, via_template, at, code, message)
    WHERE o.id = ANY (p_ids) AND o.id = s.id
      AND o.lease_owner = p_owner AND (o.state || '') = 'pending'
    RETURNING o.id;
END;
$$;

-- The inbound claim, as migration 32 left it but with its keys named the same way: each locked
-- customer's pending messages are read from their first pending one by a probe of their own
-- (a lateral subquery, which the planner cannot turn into a join that reads the table from end
-- to end), and the picked heads and the lease by `= ANY (keys)`.
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
        CROSS JOIN LATERAL (
            SELECT p.seq, p.sender_key, p.sent_at, p.received_at, p.leased_until
            FROM inbox_messages p
            WHERE p.sender_key = k.sender_key AND p.seq >= k.first_seq AND (p.state || '') = 'pending'
            OFFSET 0
        ) h
    ),
    picked AS MATERIALIZED (
        SELECT i.seq FROM inbox_messages i
        WHERE i.seq = ANY (ARRAY(SELECT heads.seq FROM heads WHERE heads.position = 1 AND heads.busy = 0))
        ORDER BY i.seq LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    )
    UPDATE inbox_messages m
    SET lease_owner = p_owner, leased_until = p_until, attempts = m.attempts + 1
    WHERE m.seq = ANY (ARRAY(SELECT picked.seq FROM picked))
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
