//! The progress bar of long commands: drawn on standard error when it is a terminal, never
//! otherwise (indicatif hides a bar whose target is not a terminal), so logs and CI output get
//! only the command's summary line.

use dvc::progress::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub(crate) struct Bar(ProgressBar);

impl Bar {
    pub(crate) fn new() -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{msg:>9} {wide_bar} {pos}/{len} · {per_sec} · còn lại (left) {eta}",
            )
            .expect("the template is valid"),
        );
        Self(bar)
    }

    /// Whether anyone sees it: the per-item lines a terminal user reads are left out elsewhere.
    pub(crate) fn on_terminal() -> bool {
        !ProgressDrawTarget::stderr().is_hidden()
    }
}

impl Progress for Bar {
    fn start(&self, what: &str, total: u64) {
        self.0.set_message(what.to_owned());
        self.0.set_length(total);
    }

    fn advance(&self, done: u64) {
        self.0.inc(done);
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}
