//! Progress bars (indicatif) behind kiln-core's [`Progress`] trait.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use kiln_core::Progress;

/// One bar per experiment, drawn on stderr; hidden with `--quiet` or when stderr is no terminal.
pub struct Bar(ProgressBar);

impl Bar {
    /// A bar labelled `name`.
    pub fn new(name: &str, hidden: bool) -> Self {
        let bar = ProgressBar::new(0);
        if hidden {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        }
        bar.set_style(
            ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {elapsed} {msg}")
                .expect("static template")
                .progress_chars("=> "),
        );
        bar.set_prefix(name.to_string());
        Self(bar)
    }

    /// Ends the bar, leaving it on screen.
    pub fn finish(&self) {
        self.0.finish();
    }
}

impl Progress for Bar {
    fn set_length(&self, total: u64) {
        self.0.set_length(total);
    }
    fn inc(&self, delta: u64) {
        self.0.inc(delta);
    }
    fn message(&self, msg: &str) {
        self.0.set_message(msg.to_string());
    }
}
