//! The one builder both dialects' tables are written with.
//!
//! An entry starts as `f(name, signature, params, returns, eval)`, a pure, infallible
//! function, and the setters below add what sets it apart: `.fails()`, `.groups()`,
//! `.impure()`, `.top_level()`... They are `const` so that the tables stay `static`.

use super::{EvalFn, Example, Function, Outcome, Param, ParamKind, Ty};

/// A pure, infallible function with no examples yet; the setters below refine it.
pub const fn f(
    name: &'static str,
    signature: &'static str,
    params: &'static [Param],
    returns: Ty,
    eval: EvalFn,
) -> Function {
    let (min_args, max_args) = arity(params);
    Function {
        name,
        signature,
        params,
        min_args,
        max_args,
        returns,
        omittable: false,
        fallible: false,
        uses_groups: false,
        redacts: false,
        pure: true,
        top_level: false,
        asks_target: false,
        ignores_flow: false,
        examples: &[],
        eval,
    }
}

/// The number of arguments `params` accepts: every required one, at most all of them unless
/// one repeats.
const fn arity(params: &[Param]) -> (usize, Option<usize>) {
    let mut min = 0;
    let mut max = Some(params.len());
    let mut i = 0;
    while i < params.len() {
        match params[i].kind {
            ParamKind::Required => min += 1,
            ParamKind::Optional => {}
            ParamKind::Repeated => max = None,
        }
        i += 1;
    }
    (min, max)
}

/// A parameter that must be given.
pub const fn req(name: &'static str, ty: Ty) -> Param {
    Param {
        name,
        ty,
        kind: ParamKind::Required,
    }
}

/// A parameter that may be left off the end.
pub const fn opt(name: &'static str, ty: Ty) -> Param {
    Param {
        name,
        ty,
        kind: ParamKind::Optional,
    }
}

/// Any number (zero included) of further arguments of one type.
pub const fn rest(name: &'static str, ty: Ty) -> Param {
    Param {
        name,
        ty,
        kind: ParamKind::Repeated,
    }
}

/// A documented example on an empty record, at [`Example::DEFAULT_NOW`].
pub const fn ex(expr: &'static str, result: &'static str) -> Example {
    Example {
        expr,
        record: "{}",
        now: Example::DEFAULT_NOW,
        result: Outcome::Value(result),
    }
}

impl Example {
    /// The same example evaluated against `record` (a flat JSON object).
    pub const fn on(self, record: &'static str) -> Example {
        Example { record, ..self }
    }

    /// The same example evaluated at `now` (RFC 3339).
    pub const fn at(self, now: &'static str) -> Example {
        Example { now, ..self }
    }

    /// An example whose result varies (`Guid()`): `sample` is shown, `check` is tested.
    pub const fn shaped(self, check: fn(&crate::value::Value) -> bool) -> Example {
        let sample = match self.result {
            Outcome::Value(sample) | Outcome::Shape { sample, .. } | Outcome::Fails(sample) => {
                sample
            }
        };
        Example {
            result: Outcome::Shape { sample, check },
            ..self
        }
    }

    /// An example that fails at run time with `message`.
    pub const fn fails(self) -> Example {
        let message = match self.result {
            Outcome::Value(m) | Outcome::Shape { sample: m, .. } | Outcome::Fails(m) => m,
        };
        Example {
            result: Outcome::Fails(message),
            ..self
        }
    }
}

impl Function {
    /// It can fail at run time for some input (bad number, index out of range, bad pattern...).
    pub const fn fails(self) -> Function {
        Function {
            fallible: true,
            ..self
        }
    }

    /// It reads the record's group memberships.
    pub const fn groups(self) -> Function {
        Function {
            uses_groups: true,
            ..self
        }
    }

    /// Its middle arguments may be left out (`Replace([x], , "re", , "", , )`).
    pub const fn omits(self) -> Function {
        Function {
            omittable: true,
            ..self
        }
    }

    /// Its result differs from call to call or depends on the outside world.
    pub const fn impure(self) -> Function {
        Function {
            pure: false,
            ..self
        }
    }

    /// It must be a rule's whole expression (Entra's `SelectUniqueValue`).
    pub const fn top_level(self) -> Function {
        Function {
            top_level: true,
            ..self
        }
    }

    /// A rule that calls it is shown as `[Redact]`.
    pub const fn redacting(self) -> Function {
        Function {
            redacts: true,
            ..self
        }
    }

    /// It asks the target which values are already taken.
    pub const fn asking_target(self) -> Function {
        Function {
            asks_target: true,
            ..self
        }
    }

    /// As a rule's whole expression, it may decide that the rule does not flow at all.
    pub const fn ignoring_flow(self) -> Function {
        Function {
            ignores_flow: true,
            ..self
        }
    }

    /// Its documented examples.
    pub const fn ex(self, examples: &'static [Example]) -> Function {
        Function { examples, ..self }
    }
}
