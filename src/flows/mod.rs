//! Flows as data: the YAML flow language and its compiler.
//!
//! Admins change what the bot says and asks by editing flow files (`flows/*.yaml`, reference in
//! `flows/README.md`). [`check::check_dir`] reads a directory of them and reports every problem
//! it can find before a customer meets it, as `file:line:col: error|warning: message`;
//! `teller flows check [DIR]` prints that report and exits 1 on any error.
//!
//! Imports: whatsapp's message limits and types, and the leaves; never
//! the bank (the compiler reads the catalogue through its [`actions::Action`] trait).

pub mod actions;
pub mod check;
mod check_step;
mod compile;
pub mod engine;
pub mod graph;
pub mod input;
pub mod model;
mod names;
mod parse;
pub mod phrasebook;
pub mod phrases;
mod provenance;
mod report;
pub mod template;
pub mod texts;
pub mod understanding;

pub use check::{check_dir, check_sources_with, compile, read_dir};
pub use compile::version;
pub use report::{Diagnostic, Report, Severity};

/// The baseline flows shipped in `flows/`, built into the binary: what teller runs when started
/// away from a checkout with no `FLOWS_DIR` (a laptop, a container).
#[derive(rust_embed::Embed)]
#[folder = "flows/"]
struct Baseline;

/// The built-in baseline flow sources, by file name.
pub fn baseline() -> Vec<(std::path::PathBuf, String)> {
    let mut files: Vec<(std::path::PathBuf, String)> = Baseline::iter()
        .filter(|name| name.ends_with(".yaml"))
        .filter_map(|name| {
            let file = Baseline::get(&name)?;
            Some((std::path::PathBuf::from(name.as_ref()), String::from_utf8_lossy(&file.data).into_owned()))
        })
        .collect();
    files.sort();
    files
}
