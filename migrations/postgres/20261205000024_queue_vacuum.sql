-- The inbox and the outbox are queues in big tables: every message is inserted pending, then
-- finished. Until a vacuum, each finished row leaves a dead entry in the pending indexes that
-- every claim steps over, so claims slow down with the traffic since the last vacuum. By default
-- autovacuum waits for a fifth of a table to be dead, which for a table of ten million messages
-- is two million; here it comes for every 5,000 dead rows, at no cost delay (SQLite has no such
-- dead entries, and needs nothing).
ALTER TABLE inbox_messages SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000,
                                autovacuum_vacuum_cost_delay = 0, autovacuum_analyze_scale_factor = 0.02);
ALTER TABLE outbox_messages SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000,
                                 autovacuum_vacuum_cost_delay = 0, autovacuum_analyze_scale_factor = 0.02);
