//! Flows as data: the YAML flow language and its compiler.
//!
//! Admins change what the bot says and asks by editing flow files (`flows/*.yaml`, reference in
//! `flows/README.md`). [`check::check_dir`] reads a directory of them and reports every problem
//! it can find before a customer meets it, as `file:line:col: error|warning: message`;
//! `teller flows check [DIR]` prints that report and exits 1 on any error.

pub mod actions;
pub mod check;
mod compile;
pub mod engine;
pub mod graph;
pub mod input;
pub mod model;
pub mod phrases;
pub mod template;

pub use check::{
    Diagnostic, Report, Severity, check_dir, check_sources, check_sources_with, compile, read_dir,
};
pub use compile::version;
