//! The migrations are embedded in the binary by `sqlx::migrate!`, which cannot tell Cargo to
//! watch their directory on stable Rust: without this, a new migration file is left out of an
//! incremental build until some Rust source changes (sqlx's documented remedy).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
