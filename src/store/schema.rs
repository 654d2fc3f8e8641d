//! Migration bookkeeping shared by both adapters: what this binary embeds against what the
//! database has applied.

use sqlx::migrate::{Migrate, Migrator};

use super::StoreError;

/// How the database's schema compares with the migrations embedded in this binary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaStatus {
    /// Versions applied to the database, in order.
    pub applied: Vec<i64>,
    /// Embedded versions not applied yet: the schema is behind this binary.
    pub pending: Vec<i64>,
    /// Applied versions this binary does not know: a newer release migrated the database. Old
    /// code keeps running on a newer schema during a rolling deploy, so this is not an error.
    pub unknown: Vec<i64>,
    /// Applied versions whose SQL differs from the embedded file: someone edited a migration
    /// after it shipped.
    pub changed: Vec<i64>,
    /// A migration that started and failed part-way.
    pub dirty: Option<i64>,
}

impl SchemaStatus {
    /// True when every embedded migration is applied as written.
    pub fn is_current(&self) -> bool {
        self.pending.is_empty() && self.changed.is_empty() && self.dirty.is_none()
    }

    /// An error that says what is wrong and what to do, unless the schema is current.
    pub fn ensure_current(&self) -> Result<(), StoreError> {
        if let Some(version) = self.dirty {
            return Err(StoreError::Schema(format!(
                "migration {version} failed part-way; repair it by hand before starting teller"
            )));
        }
        if !self.changed.is_empty() {
            return Err(StoreError::Schema(format!(
                "applied migrations {:?} differ from this binary's; migrations must never be edited \
                 once applied",
                self.changed
            )));
        }
        if !self.pending.is_empty() {
            return Err(StoreError::Schema(format!(
                "migrations {:?} are not applied; run `teller migrate` first (in production the \
                 pre-deploy job does this)",
                self.pending
            )));
        }
        Ok(())
    }
}

/// Reads the applied migrations and compares them with `migrator`'s. Creates the bookkeeping
/// table if it is missing (an empty table changes no schema the application uses).
pub(super) async fn status<C>(conn: &mut C, migrator: &Migrator) -> Result<SchemaStatus, StoreError>
where
    C: Migrate + Send + ?Sized,
{
    conn.ensure_migrations_table(&migrator.table_name).await?;
    let dirty = conn.dirty_version(&migrator.table_name).await?;
    let applied = conn.list_applied_migrations(&migrator.table_name).await?;
    let embedded: Vec<_> = migrator.iter().filter(|m| !m.migration_type.is_down_migration()).collect();

    let mut status = SchemaStatus { dirty, ..SchemaStatus::default() };
    status.applied = applied.iter().map(|m| m.version).collect();
    for m in &embedded {
        match applied.iter().find(|a| a.version == m.version) {
            None => status.pending.push(m.version),
            Some(a) if a.checksum != m.checksum => status.changed.push(m.version),
            Some(_) => {}
        }
    }
    status.unknown =
        applied.iter().map(|a| a.version).filter(|v| !embedded.iter().any(|m| m.version == *v)).collect();
    Ok(status)
}
