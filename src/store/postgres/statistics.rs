//! The statistics of the tables every message grows, kept up with their growth.
//!
//! PostgreSQL plans a prepared statement afresh for its first five runs on a connection, then
//! may keep one generic plan, until an analyze of a table it reads makes it plan again. A plan
//! made while a table was a few pages long reads it sequentially (the cheapest path on a page
//! or two), and goes on doing so as the table grows. Autovacuum's analyze puts that right, but
//! only when its launcher next comes round, up to a minute later: on a new database at a few
//! hundred messages a second, a round's record read the whole inbox at every round for that
//! minute (9,267 sequential scans and 25 million rows in 20 s; BENCHMARKS.md, ninth session).
//! A queue vacuumed while empty and then met by a backlog is the same case.
//!
//! So the tables are analyzed whenever one has more than doubled in pages since its statistics
//! were taken (`relpages`, which vacuum and analyze set), looked at every second. A plan then
//! meets its table at about twice the size it was made for (and a second's growth), and the
//! plans that are wrong only on small tables stop at a few dozen pages. Past its first days a
//! table doubles in months, and autovacuum's own analyze (at 2% of a queue's rows changed,
//! migration 24) comes long before.

use sqlx::PgPool;

use crate::store::StoreError;

/// The tables every message grows, each with its analyze as a constant statement (sqlx takes
/// no SQL formatted at run time without an audit; a table name is not a bind parameter): the
/// webhook payloads, both queues, and the delivery statuses Meta reports for each reply. (A
/// lookup of one status by its key, planned while the table held 20 rows, read all of its
/// 100,020 rows once it held those.)
const KEPT: [(&str, &str); 4] = [
    ("webhook_payloads", "ANALYZE (SKIP_LOCKED) webhook_payloads"),
    ("inbox_messages", "ANALYZE (SKIP_LOCKED) inbox_messages"),
    ("outbox_messages", "ANALYZE (SKIP_LOCKED) outbox_messages"),
    ("delivery_statuses", "ANALYZE (SKIP_LOCKED) delivery_statuses"),
];

/// Below twice this many pages, a table is not analyzed for its growth: reading it whole
/// costs less than the analyze.
const FLOOR_PAGES: i32 = 8;

/// A tenth of the default sample (3,000 rows, not 30,000): what a plan needs from this analyze
/// is the table's size and the rough shape of its keys and states, and the full sample cost 160
/// ms for an outbox of 20,000 rows, against 24. Autovacuum's own analyze, with the full sample,
/// follows once 2% of the rows have changed.
const SAMPLE: &str = "SET LOCAL default_statistics_target = 10";

/// The kept tables grown past twice the pages their statistics saw, which this connection's
/// role may analyze (an analyze by any other role is skipped by PostgreSQL with a warning).
/// Each name is found as the analyze finds it, on the connection's search path.
const OUTGROWN: &str = "SELECT kept.name FROM unnest($1::text[]) AS kept(name)
     JOIN pg_class c ON c.oid = to_regclass(kept.name)
     WHERE pg_has_role(c.relowner, 'USAGE')
       AND pg_relation_size(c.oid) / current_setting('block_size')::bigint > 2 * GREATEST(c.relpages, $2)";

/// Analyzes each kept table that has outgrown its statistics; returns the ones analyzed. One
/// analyzing already (autovacuum's, another instance's) is skipped, and looked at next time.
pub(super) async fn refresh(pool: &PgPool) -> Result<Vec<&'static str>, StoreError> {
    let names = KEPT.map(|(table, _)| table);
    let outgrown: Vec<String> =
        sqlx::query_scalar(OUTGROWN).bind(names).bind(FLOOR_PAGES).fetch_all(pool).await?;
    let due: Vec<(&'static str, &'static str)> =
        KEPT.into_iter().filter(|(table, _)| outgrown.iter().any(|name| name == table)).collect();
    if due.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = pool.begin().await?;
    sqlx::query(SAMPLE).persistent(false).execute(&mut *tx).await?;
    for &(_, analyze) in &due {
        sqlx::query(analyze).persistent(false).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(due.into_iter().map(|(table, _)| table).collect())
}
