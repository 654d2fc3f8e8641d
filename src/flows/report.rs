//! What the compiler reports: diagnostics with their place and severity, and the collector
//! (`Out`) the checks write them into as they go.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

use marked_yaml::Span;

use super::actions::Catalogue;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The flows cannot be used until it is fixed.
    Error,
    /// Worth a look; the flows still work.
    Warning,
}

/// One problem, where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file, as given.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, in words an admin can act on.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{}:{}:{}: {severity}: {}", self.file.display(), self.line, self.column, self.message)
    }
}

/// What checking a directory of flows found.
#[derive(Debug, Default)]
pub struct Report {
    /// Flow files read.
    pub files: usize,
    /// Every problem, in file and position order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    /// Whether any problem is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.severity == Severity::Error)
    }
}

/// The checking context for the file being checked, and the diagnostics so far.
#[derive(Default)]
pub(super) struct Out {
    pub(super) file: PathBuf,
    /// The file's text, to place errors inside quoted strings.
    pub(super) source: String,
    pub(super) catalogue: Catalogue,
    /// The longest each variable of the flow can be, for the limits of texts that show it.
    pub(super) widths: HashMap<String, usize>,
    pub(super) diagnostics: Vec<Diagnostic>,
}

impl Out {
    pub(super) fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.severity == Severity::Error).count()
    }

    /// An error at a compiled position.
    pub(super) fn error_at(&mut self, pos: super::graph::Pos, message: impl Into<String>) {
        self.push(pos.line, pos.column, Severity::Error, message);
    }

    /// The position `chars` characters into the scalar that starts at `span` (past its opening
    /// quote, if it is quoted).
    pub(super) fn inside(&self, span: &Span, chars: usize) -> (usize, usize) {
        let (line, column) = span.start().map_or((1, 1), |m| (m.line(), m.column()));
        let quoted = self
            .source
            .lines()
            .nth(line.saturating_sub(1))
            .and_then(|l| l.chars().nth(column.saturating_sub(1)))
            .is_some_and(|c| c == '"' || c == '\'');
        (line, column + chars + usize::from(quoted))
    }

    pub(super) fn at(&mut self, span: &Span, severity: Severity, message: impl Into<String>) {
        let (line, column) = span.start().map_or((1, 1), |m| (m.line(), m.column()));
        self.push(line, column, severity, message);
    }

    pub(super) fn push(
        &mut self,
        line: usize,
        column: usize,
        severity: Severity,
        message: impl Into<String>,
    ) {
        let message = message.into();
        self.diagnostics.push(Diagnostic { file: self.file.clone(), line, column, severity, message });
    }

    pub(super) fn error(&mut self, span: &Span, message: impl Into<String>) {
        self.at(span, Severity::Error, message);
    }

    pub(super) fn warning(&mut self, span: &Span, message: impl Into<String>) {
        self.at(span, Severity::Warning, message);
    }
}
