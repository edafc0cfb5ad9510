//! The language core's tests, as one test binary that builds against `scimsync-lang` alone:
//! the expression corpus, every function's documented examples, the diagnostics corpus and the
//! proptest properties.

mod diagnostics;
mod expressions;
mod function_examples;
mod properties;
