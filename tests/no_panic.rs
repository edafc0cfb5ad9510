//! No input may panic: every `.map` file of the project, mutated many ways (bytes deleted,
//! duplicated, swapped for syntax characters, non-ASCII inserted), goes through parse, check,
//! format and, when it compiles, evaluation over awkward records. A panic fails the test; any
//! result, error or not, passes. Bounded: a fixed number of deterministic mutations per file.

use crate::support;

use scimsync_lang::mapping::format::format_file;
use scimsync_lang::mapping::{Env, SourceFile, compile};
use scimsync_lang::record::Record;
use support::project_map_files;

/// A small deterministic generator (xorshift), so a failure reproduces exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const PIECES: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "\"",
    "'",
    "\\",
    ",",
    ".",
    "?",
    ":",
    "?:",
    "<-",
    "&",
    "&H",
    "-",
    "!",
    "=",
    "==",
    "#",
    "\n",
    "\n  ",
    " ",
    "é",
    "😀",
    "\u{0}",
    "9999999999999999999999",
    "user.",
    "[x]",
    "null",
    "true",
    "on create",
    "one of",
    "as integer",
    "default",
    "dialect entra\n",
    "dialect okta\n",
    "scope ",
    "urn:",
    "enterprise:",
    "IIF(",
    "Switch(",
    "String.",
    "matches",
];

fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(chars.len() + 1);
        match rng.below(4) {
            0 if !chars.is_empty() => {
                let end = (at + 1 + rng.below(6)).min(chars.len());
                chars.drain(at.min(end)..end);
            }
            1 if !chars.is_empty() => {
                let end = (at + 1 + rng.below(10)).min(chars.len());
                let copy: Vec<char> = chars[at.min(end)..end].to_vec();
                chars.splice(at.min(end)..at.min(end), copy);
            }
            _ => {
                let piece = PIECES[rng.below(PIECES.len())];
                let at = at.min(chars.len());
                chars.splice(at..at, piece.chars());
            }
        }
    }
    chars.into_iter().collect()
}

fn awkward_records() -> Vec<Record> {
    let objects = [
        serde_json::json!({}),
        serde_json::json!({"email": "", "firstName": null, "status": "ACTIVE", "groups": []}),
        serde_json::json!({"email": "Ä@x", "creditLimit": "lots", "base44Role": "owner",
            "userPrincipalName": "😀", "extensionAttribute1": "-9223372036854775808",
            "appRoleAssignments": ["a", "b"], "groups": ["Base44 Admins", ""], "n": 1e308}),
        serde_json::json!({"email": ["a", "b"], "creditLimit": 9223372036854775807i64,
            "lastName": {"nested": true}, "status": 5, "accountEnabled": "maybe"}),
    ];
    objects
        .iter()
        .map(|o| Record::from_flat_json("id".into(), o.as_object().unwrap()))
        .collect()
}

#[test]
fn mutated_mappings_never_panic() {
    let files = project_map_files();
    let records = awkward_records();
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let mut compiled = 0;
    for path in &files {
        let original = std::fs::read_to_string(path).unwrap();
        for round in 0..40 {
            let text = if round == 0 {
                original.clone()
            } else {
                mutate(&original, &mut rng)
            };
            let file = SourceFile::new("fuzz.map", text.clone());
            let result = std::panic::catch_unwind(|| {
                let _ = format_file(&file);
                match compile(&file) {
                    Ok(plan) => {
                        for record in &records {
                            let _ = plan.evaluate(record, &Env::new(record));
                        }
                        true
                    }
                    Err(diagnostics) => {
                        let _ = scimsync_lang::mapping::render_all(&diagnostics, &file);
                        false
                    }
                }
            });
            match result {
                Ok(true) => compiled += 1,
                Ok(false) => {}
                Err(_) => panic!("panicked on a mutation of {}:\n{text}", path.display()),
            }
        }
    }
    assert!(
        compiled > 50,
        "only {compiled} mutations compiled: the test exercises too little"
    );
}
