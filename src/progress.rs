//! How far a long operator command has got (`dvc migrate`, `tenant apply` of a folder,
//! `tenant export`, `tenant import`): the work counts, the CLI shows it — a bar on a terminal,
//! nothing elsewhere. The library never draws; it only reports.

/// Told the size of the work, then each piece done. Shared by the threads doing it.
pub trait Progress: Sync {
    /// `total` pieces of `what` (e.g. "tenants", "rows").
    fn start(&self, _what: &str, _total: u64) {}
    fn advance(&self, _done: u64) {}
}

/// Reports to nobody: tests, benches and servers.
pub struct Silent;

impl Progress for Silent {}
