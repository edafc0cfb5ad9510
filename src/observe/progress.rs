//! Progress of an interactive `sync`: an indicatif bar over the writes when stderr is a
//! terminal, and a plain line every tenth of the way otherwise (so a CI log or a redirected
//! run still shows it is moving). Targets with fewer than [`MIN_WRITES`] writes show nothing.
//!
//! A run of one target reads as it always did (`progress: 10/95 writes (10%), 0 failed`, a
//! `writing [...]` bar). A run of several says which target each line or bar is about: one
//! bar per target in an indicatif `MultiProgress`, and plain lines prefixed by the target's
//! name (`progress base44: 10/95 writes (10%), 0 failed`).

use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::sync::event::{Mapped, WriteEvent, WriteObserver, WriteResult};

/// Targets with fewer writes than this finish too quickly to need a progress display.
pub const MIN_WRITES: usize = 50;

/// How a target's progress is shown once it has enough writes.
enum Display {
    Bar(ProgressBar),
    Lines,
}

/// One target's writes so far.
#[derive(Default)]
struct Counter {
    total: usize,
    done: usize,
    failed: usize,
    display: Option<Display>,
}

/// The progress display of one run.
pub struct Progress {
    interactive: bool,
    /// The run has several targets: every line and bar names its target.
    named: bool,
    /// The bars of a run of several targets, drawn together (interactive only).
    bars: MultiProgress,
    targets: Mutex<HashMap<String, Counter>>,
}

impl Progress {
    /// A bar when stderr is a terminal, plain lines otherwise, for a run of `targets` targets.
    pub fn for_stderr(targets: usize) -> Progress {
        Progress::new(std::io::stderr().is_terminal(), targets)
    }

    pub fn new(interactive: bool, targets: usize) -> Progress {
        let draw = if interactive {
            ProgressDrawTarget::stderr_with_hz(10)
        } else {
            ProgressDrawTarget::hidden()
        };
        Progress {
            interactive,
            named: targets > 1,
            bars: MultiProgress::with_draw_target(draw),
            targets: Mutex::new(HashMap::new()),
        }
    }

    /// Removes the bars (before the run's own output is printed).
    pub fn finish(&self) {
        let Ok(mut targets) = self.targets.lock() else {
            return;
        };
        for counter in targets.values_mut() {
            if let Some(Display::Bar(bar)) = counter.display.take() {
                bar.finish_and_clear();
            }
        }
        let _ = self.bars.clear();
    }

    /// The target's name as lines and bars show it: only when the run has several.
    fn label<'a>(&self, target: &'a str) -> Option<&'a str> {
        self.named.then_some(target)
    }

    /// A bar of `writes` writes, drawn with the run's other bars.
    fn bar(&self, writes: usize, label: Option<&str>) -> ProgressBar {
        let template = match label {
            None => "{spinner} writing [{bar:40}] {pos}/{len} ({per_sec}, eta {eta}) {msg}",
            Some(_) => {
                "{spinner} writing {prefix} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta}) {msg}"
            }
        };
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        // Added to the set before it is styled or ticked: a bar drawn outside it would be
        // drawn over.
        let bar = self.bars.add(ProgressBar::new(writes as u64));
        bar.set_style(style);
        if let Some(label) = label {
            bar.set_prefix(label.to_owned());
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    }
}

/// The plain line for `done` writes out of `total`, when it crosses a tenth:
/// `progress: 10/95 writes (10%), 0 failed`, or `progress base44: ...` for a named target.
fn plain_line(label: Option<&str>, done: usize, total: usize, failed: usize) -> Option<String> {
    let step = total.div_ceil(10).max(1);
    let head = match label {
        Some(name) => format!("progress {name}"),
        None => "progress".to_owned(),
    };
    (done.is_multiple_of(step) || done == total).then(|| {
        format!(
            "{head}: {done}/{total} writes ({}%), {failed} failed",
            done * 100 / total.max(1)
        )
    })
}

/// What a target's source mapping is announced with on a terminal.
fn mapped_line(label: Option<&str>, mapped: &Mapped) -> String {
    let head = match label {
        Some(name) => format!("{name}: read {} users", mapped.source),
        None => format!("Read {} users", mapped.source),
    };
    format!(
        "{head}: {} in scope, {} skipped; comparing with the target…",
        mapped.in_scope, mapped.skipped
    )
}

impl WriteObserver for Progress {
    fn mapped(&self, mapped: &Mapped) {
        if self.interactive && mapped.source >= MIN_WRITES {
            let line = mapped_line(self.label(&mapped.target), mapped);
            // Printed above any bar already drawn, not through it.
            if self.bars.println(&line).is_err() {
                eprintln!("{line}");
            }
        }
    }

    /// Each target's display appears once its planned writes reach [`MIN_WRITES`].
    fn planned(&self, target: &str, writes: usize) {
        let Ok(mut targets) = self.targets.lock() else {
            return;
        };
        let counter = targets.entry(target.to_owned()).or_default();
        counter.total += writes;
        if counter.total < MIN_WRITES {
            return;
        }
        match &counter.display {
            Some(Display::Bar(bar)) => bar.set_length(counter.total as u64),
            Some(Display::Lines) => {}
            None if self.interactive => {
                counter.display = Some(Display::Bar(self.bar(counter.total, self.label(target))));
            }
            None => counter.display = Some(Display::Lines),
        }
    }

    fn record(&self, event: &WriteEvent) {
        // A dry run plans its writes; there is nothing to wait for.
        if event.result == WriteResult::Planned {
            return;
        }
        let Ok(mut targets) = self.targets.lock() else {
            return;
        };
        let Some(counter) = targets.get_mut(&event.target) else {
            return;
        };
        counter.done += 1;
        counter.failed += usize::from(!event.succeeded());
        match &counter.display {
            Some(Display::Bar(bar)) => {
                bar.inc(1);
                if counter.failed > 0 {
                    bar.set_message(format!("{} failed", counter.failed));
                }
            }
            Some(Display::Lines) => {
                let label = self.label(&event.target);
                if let Some(line) = plain_line(label, counter.done, counter.total, counter.failed) {
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
            .filter_map(|done| plain_line(None, done, 95, 0))
            .collect();
        assert_eq!(lines.len(), 10, "{lines:?}");
        assert_eq!(lines[0], "progress: 10/95 writes (10%), 0 failed");
        assert_eq!(lines[9], "progress: 95/95 writes (100%), 0 failed");
    }

    #[test]
    fn plain_lines_of_a_named_target_say_which() {
        let lines: Vec<String> = (1..=95)
            .filter_map(|done| plain_line(Some("base44"), done, 95, 2))
            .collect();
        assert_eq!(lines.len(), 10, "{lines:?}");
        assert_eq!(lines[0], "progress base44: 10/95 writes (10%), 2 failed");
        assert_eq!(lines[9], "progress base44: 95/95 writes (100%), 2 failed");
    }

    #[test]
    fn a_target_is_named_only_when_the_run_has_several() {
        assert_eq!(Progress::new(false, 1).label("base44"), None);
        assert_eq!(Progress::new(false, 3).label("base44"), Some("base44"));
    }

    #[test]
    fn each_target_counts_its_own_writes_and_small_ones_show_nothing() {
        let progress = Progress::new(false, 2);
        progress.planned("base44", 60);
        progress.planned("appspace", 10);
        let event = |target: &str| WriteEvent {
            time: chrono::Utc::now(),
            run_id: "r1".to_owned(),
            target: target.to_owned(),
            operation: crate::sync::event::Operation::Create,
            resource_type: crate::sync::event::Operation::Create.resource_type(),
            id: Some("u1".to_owned()),
            name: "ada@example.com".to_owned(),
            attributes: Vec::new(),
            status: Some(201),
            result: WriteResult::Applied,
            latency: Duration::ZERO,
        };
        for _ in 0..6 {
            progress.record(&event("base44"));
        }
        progress.record(&event("appspace"));
        let targets = progress.targets.lock().unwrap();
        let base44 = &targets["base44"];
        assert_eq!((base44.total, base44.done), (60, 6));
        assert!(matches!(base44.display, Some(Display::Lines)));
        let appspace = &targets["appspace"];
        assert_eq!((appspace.total, appspace.done), (10, 1));
        assert!(
            appspace.display.is_none(),
            "under MIN_WRITES: nothing shown"
        );
    }

    #[test]
    fn mapped_lines_name_the_target_of_a_run_of_several() {
        let mapped = Mapped {
            target: "base44".to_owned(),
            source: 60,
            in_scope: 58,
            skipped: 2,
        };
        assert_eq!(
            mapped_line(None, &mapped),
            "Read 60 users: 58 in scope, 2 skipped; comparing with the target…"
        );
        assert_eq!(
            mapped_line(Some("base44"), &mapped),
            "base44: read 60 users: 58 in scope, 2 skipped; comparing with the target…"
        );
    }
}
