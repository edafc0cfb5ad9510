//! The language core's tests, as one test binary that builds against `scimsync-lang` alone:
//! the expression corpus, the diagnostics corpus and the proptest properties.

mod diagnostics;
mod expressions;
mod properties;
