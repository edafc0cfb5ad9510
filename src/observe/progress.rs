//! Progress of an interactive `sync`: an indicatif bar over the writes when stderr is a
//! terminal, and a plain line every tenth of the way otherwise (so a CI log or a redirected
//! run still shows it is moving). Small runs (fewer than [`MIN_WRITES`] writes) show nothing.

use std::io::IsTerminal as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::sync::event::{Mapped, WriteEvent, WriteObserver, WriteResult};

/// Runs with fewer writes than this finish too quickly to need a progress display.
pub const MIN_WRITES: usize = 50;

enum Display {
    Bar(ProgressBar),
    Lines,
}

/// The progress display of one run.
pub struct Progress {
    display: Mutex<Option<Display>>,
    interactive: bool,
    total: AtomicUsize,
    done: AtomicUsize,
    failed: AtomicUsize,
}

impl Progress {
    /// A bar when stderr is a terminal, plain lines otherwise.
    pub fn for_stderr() -> Progress {
        Progress::new(std::io::stderr().is_terminal())
    }

    pub fn new(interactive: bool) -> Progress {
        Progress {
            display: Mutex::new(None),
            interactive,
            total: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
        }
    }

    /// Removes the bar (before the run's own output is printed).
    pub fn finish(&self) {
        if let Ok(mut display) = self.display.lock()
            && let Some(Display::Bar(bar)) = display.take()
        {
            bar.finish_and_clear();
        }
    }

    /// The plain line for `done` writes out of `total`, when it crosses a tenth.
    fn plain_line(done: usize, total: usize, failed: usize) -> Option<String> {
        let step = total.div_ceil(10).max(1);
        (done.is_multiple_of(step) || done == total).then(|| {
            format!(
                "progress: {done}/{total} writes ({}%), {failed} failed",
                done * 100 / total.max(1)
            )
        })
    }
}

impl WriteObserver for Progress {
    fn mapped(&self, mapped: &Mapped) {
        if self.interactive && mapped.source >= MIN_WRITES {
            eprintln!(
                "Read {} users: {} in scope, {} skipped; comparing with the target…",
                mapped.source, mapped.in_scope, mapped.skipped
            );
        }
    }

    /// Targets plan their writes one after another: the display counts the writes of them
    /// all, and appears once they reach [`MIN_WRITES`].
    fn planned(&self, _target: &str, writes: usize) {
        let writes = self.total.fetch_add(writes, Ordering::SeqCst) + writes;
        if writes < MIN_WRITES {
            return;
        }
        if let Ok(slot) = self.display.lock()
            && let Some(shown) = slot.as_ref()
        {
            if let Display::Bar(bar) = shown {
                bar.set_length(writes as u64);
            }
            return;
        }
        let display = if self.interactive {
            let bar = ProgressBar::with_draw_target(
                Some(writes as u64),
                ProgressDrawTarget::stderr_with_hz(10),
            );
            let style = ProgressStyle::with_template(
                "{spinner} writing [{bar:40}] {pos}/{len} ({per_sec}, eta {eta}) {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(200));
            Display::Bar(bar)
        } else {
            Display::Lines
        };
        if let Ok(mut slot) = self.display.lock() {
            *slot = Some(display);
        }
    }

    fn record(&self, event: &WriteEvent) {
        // A dry run plans its writes; there is nothing to wait for.
        if event.result == WriteResult::Planned {
            return;
        }
        let done = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        let failed = self.failed.load(Ordering::SeqCst) + usize::from(!event.succeeded());
        if !event.succeeded() {
            self.failed.fetch_add(1, Ordering::SeqCst);
        }
        let total = self.total.load(Ordering::SeqCst);
        let Ok(display) = self.display.lock() else {
            return;
        };
        match display.as_ref() {
            Some(Display::Bar(bar)) => {
                bar.inc(1);
                if failed > 0 {
                    bar.set_message(format!("{failed} failed"));
                }
            }
            Some(Display::Lines) => {
                if let Some(line) = Progress::plain_line(done, total, failed) {
                    eprintln!("{line}");
                }
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_every_tenth_and_at_the_end() {
        let lines: Vec<String> = (1..=95)
            .filter_map(|done| Progress::plain_line(done, 95, 0))
            .collect();
        assert_eq!(lines.len(), 10, "{lines:?}");
        assert_eq!(lines[0], "progress: 10/95 writes (10%), 0 failed");
        assert_eq!(lines[9], "progress: 95/95 writes (100%), 0 failed");
    }
}
