-- `claim_inbound` (migration 27) plans its two statements once per connection, not at every
-- claim.
--
-- PL/pgSQL keeps a prepared plan for each statement of a function, but with parameters it
-- plans every call afresh (a "custom" plan) for as long as that looks no dearer than one
-- generic plan, and for these two it did. Each claim was then planned twice, on the path of
-- every message, while it held its customers' advisory locks. At 1,000 messages a second a
-- claim took PostgreSQL 0.4 to 2 ms; planned once, about 0.2 ms, and the messages' p99 fell
-- from about 40 to about 25 ms (BENCHMARKS.md, 2026-12-06, seventh session).
--
-- The generic plans are the plans the custom ones were: the statements filter on the literal
-- state the partial indexes name, and a plan is made again whenever ANALYZE changes the
-- table's statistics. (A plan made while no message was pending reads every pending message
-- when a backlog forms before the next ANALYZE; custom plans did the same, since they are made
-- from the same statistics.)
ALTER FUNCTION claim_inbound(TEXT, TIMESTAMPTZ, TIMESTAMPTZ, BIGINT, BIGINT, INTEGER)
    SET plan_cache_mode = force_generic_plan;
