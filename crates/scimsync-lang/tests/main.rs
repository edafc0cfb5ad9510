//! The language core's tests, as one test binary that builds against `scimsync-lang` alone:
//! the expression corpus, every function's documented examples, the diagnostics corpus and the
//! proptest properties.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests and their harness fail loudly on a broken assumption"
)]

mod diagnostics;
mod expressions;
mod function_examples;
mod properties;
mod reference_docs;
