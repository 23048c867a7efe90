//! Crash points, for the tests that kill a process in the middle of a transaction and check
//! what survives the restart. `DVC_FAULT=<name>` makes the process abort when it reaches
//! [`point`]`(<name>)`. Only in debug builds (the tests'); a release build compiles every point
//! to nothing. One environment variable read once, rather than the `fail` crate's registry:
//! dvc has a single point to kill at.

/// Aborts the process here when `DVC_FAULT` names this point (debug builds only).
pub fn point(name: &str) {
    #[cfg(debug_assertions)]
    {
        static FAULT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
        if FAULT
            .get_or_init(|| std::env::var("DVC_FAULT").ok())
            .as_deref()
            == Some(name)
        {
            eprintln!("dvc: fault `{name}` reached: aborting");
            std::process::abort();
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = name;
}
