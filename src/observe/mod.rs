//! Observability of sync runs. The engine reports every run through one trait,
//! [`crate::sync::event::WriteObserver`]: the milestones (source mapped, target listed, writes
//! planned) and one [`WriteEvent`] per write, from the single reporting point in
//! `sync::apply`. The audit log, the metrics and the progress display each implement it; the
//! run summary is made from the engine's `RunReport`.
//!
//! ```text
//! sync::run_plan ─(mapped, listed, planned, record)─▶ Fanout ─▶ audit.rs    (JSON Lines file)
//!                                                            ├▶ metrics.rs  (Prometheus registry)
//!                                                            └▶ progress.rs (indicatif / plain lines)
//! ```

pub mod audit;
pub mod logging;
pub mod metrics;
pub mod progress;
pub mod summary;

pub use crate::sync::event::{Fanout, Mapped, WriteEvent, WriteObserver};
