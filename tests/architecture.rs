//! The workspace's layering, checked: `cargo metadata` against the rules docs/architecture.md
//! states. The allowed edges are read from the document's rules table, so the document and
//! the check cannot drift apart; a new crate fails here until the document gives it a row.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

/// The crates the language core must never pull in, however indirectly: an async runtime,
/// HTTP, LDAP, a server, a TLS library. docs/architecture.md lists the same names.
const FORBIDDEN_IN_LANG: [&str; 8] = [
    "tokio",
    "reqwest",
    "ldap3",
    "axum",
    "aws-lc-rs",
    "aws-lc-sys",
    "hyper",
    "mio",
];

const LANG: &str = "scimsync-lang";

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn architecture_doc() -> String {
    let path = workspace_root().join("docs/architecture.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The text between `<!-- name -->` and `<!-- /name -->`.
fn marked_section<'a>(doc: &'a str, name: &str) -> &'a str {
    let open = format!("<!-- {name} -->");
    let close = format!("<!-- /{name} -->");
    let start = doc
        .find(&open)
        .unwrap_or_else(|| panic!("docs/architecture.md has no `{open}` marker"))
        + open.len();
    let end = doc[start..]
        .find(&close)
        .unwrap_or_else(|| panic!("docs/architecture.md has no `{close}` marker"))
        + start;
    &doc[start..end]
}

/// Every `code span` in a piece of Markdown.
fn code_spans(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// The rules table: each workspace crate and the workspace crates it may depend on.
fn allowed_edges(doc: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut rules = BTreeMap::new();
    for line in marked_section(doc, "rules").lines() {
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').collect();
        let [crate_cell, allowed_cell] = cells.as_slice() else {
            continue;
        };
        let Some(name) = code_spans(crate_cell).first().map(|s| s.to_string()) else {
            continue; // the header and separator rows
        };
        let allowed = code_spans(allowed_cell)
            .into_iter()
            .map(String::from)
            .collect();
        assert!(
            rules.insert(name.clone(), allowed).is_none(),
            "docs/architecture.md gives `{name}` two rows in its rules table"
        );
    }
    assert!(
        !rules.is_empty(),
        "docs/architecture.md's rules table is empty"
    );
    rules
}

/// `cargo metadata` for the whole workspace, with the resolved dependency graph.
fn metadata() -> Value {
    let manifest = workspace_root().join("Cargo.toml");
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(&manifest)
        .output()
        .unwrap_or_else(|e| panic!("cannot run cargo metadata: {e}"));
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON")
}

/// The metadata read once: package names by id, the workspace's members, and the resolved
/// graph as each package id's dependencies.
struct Graph {
    names: BTreeMap<String, String>,
    members: BTreeSet<String>,
    deps: BTreeMap<String, Vec<Dep>>,
}

/// One resolved dependency: the package it resolves to and its kinds (`None` is a normal
/// dependency, else `"dev"` or `"build"`).
struct Dep {
    id: String,
    kinds: Vec<Option<String>>,
}

fn read_graph(metadata: &Value) -> Graph {
    let names = metadata["packages"]
        .as_array()
        .expect("metadata has packages")
        .iter()
        .map(|p| (text(&p["id"]), text(&p["name"])))
        .collect();
    let members = metadata["workspace_members"]
        .as_array()
        .expect("metadata has workspace_members")
        .iter()
        .map(text)
        .collect();
    let nodes = metadata["resolve"]["nodes"]
        .as_array()
        .expect("metadata has a resolved graph");
    let deps = nodes
        .iter()
        .map(|node| {
            let deps = node["deps"]
                .as_array()
                .expect("a node lists its deps")
                .iter()
                .map(|dep| {
                    let kinds = dep["dep_kinds"]
                        .as_array()
                        .expect("a dep lists its kinds")
                        .iter()
                        .map(|k| k["kind"].as_str().map(String::from))
                        .collect();
                    Dep {
                        id: text(&dep["pkg"]),
                        kinds,
                    }
                })
                .collect();
            (text(&node["id"]), deps)
        })
        .collect();
    Graph {
        names,
        members,
        deps,
    }
}

fn text(value: &Value) -> String {
    value
        .as_str()
        .expect("a string in cargo metadata")
        .to_string()
}

impl Graph {
    fn name(&self, id: &str) -> &str {
        &self.names[id]
    }

    fn id_of(&self, name: &str) -> &str {
        self.members
            .iter()
            .find(|id| self.name(id) == name)
            .unwrap_or_else(|| panic!("`{name}` is not a workspace member"))
    }
}

/// Every edge between workspace crates that the rules do not allow, and every crate the
/// rules and the workspace do not agree on.
fn layering_violations(graph: &Graph, rules: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut violations = Vec::new();
    let member_names: BTreeSet<&str> = graph.members.iter().map(|id| graph.name(id)).collect();
    for name in &member_names {
        if !rules.contains_key(*name) {
            violations.push(format!(
                "workspace crate `{name}` has no row in docs/architecture.md's rules table"
            ));
        }
    }
    for name in rules.keys() {
        if !member_names.contains(name.as_str()) {
            violations.push(format!(
                "docs/architecture.md's rules table names `{name}`, which is not a workspace crate"
            ));
        }
    }
    for member in &graph.members {
        let from = graph.name(member);
        let allowed = rules.get(from);
        for Dep { id: dep, kinds } in &graph.deps[member] {
            if !graph.members.contains(dep) {
                continue;
            }
            let to = graph.name(dep);
            if allowed.is_some_and(|allowed| !allowed.contains(to)) {
                let kinds: Vec<&str> = kinds
                    .iter()
                    .map(|k| k.as_deref().unwrap_or("normal"))
                    .collect();
                violations.push(format!(
                    "`{from}` depends on `{to}` ({} dependency), which docs/architecture.md does not allow",
                    kinds.join(", ")
                ));
            }
        }
    }
    violations
}

/// The normal-dependency closure of one package, each crate with the chain that reaches it.
fn normal_closure(graph: &Graph, root: &str) -> BTreeMap<String, Vec<String>> {
    let mut reached: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut queue = VecDeque::from([(root.to_string(), vec![graph.name(root).to_string()])]);
    while let Some((id, chain)) = queue.pop_front() {
        for Dep { id: dep, kinds } in &graph.deps[&id] {
            let normal = kinds.iter().any(Option::is_none);
            if !normal || reached.contains_key(dep) {
                continue;
            }
            let mut longer = chain.clone();
            longer.push(graph.name(dep).to_string());
            reached.insert(dep.clone(), longer.clone());
            queue.push_back((dep.clone(), longer));
        }
    }
    reached
}

#[test]
fn workspace_crates_depend_only_as_docs_architecture_allows() {
    let rules = allowed_edges(&architecture_doc());
    let graph = read_graph(&metadata());
    let violations = layering_violations(&graph, &rules);
    assert!(
        violations.is_empty(),
        "the workspace breaks the rules of docs/architecture.md:\n  {}",
        violations.join("\n  ")
    );
}

#[test]
fn the_language_core_pulls_in_no_runtime_network_or_tls_crate() {
    let graph = read_graph(&metadata());
    let closure = normal_closure(&graph, graph.id_of(LANG));
    let offending: Vec<String> = closure
        .iter()
        .filter(|(id, _)| FORBIDDEN_IN_LANG.contains(&graph.name(id)))
        .map(|(_, chain)| chain.join(" -> "))
        .collect();
    assert!(
        offending.is_empty(),
        "`{LANG}` must not depend on {}, not even indirectly; it does through:\n  {}",
        FORBIDDEN_IN_LANG.join(", "),
        offending.join("\n  ")
    );
}

#[test]
fn docs_architecture_lists_the_crates_the_language_core_must_not_use() {
    let doc = architecture_doc();
    let listed: BTreeSet<&str> = code_spans(marked_section(&doc, "forbidden:scimsync-lang"))
        .into_iter()
        .collect();
    let expected: BTreeSet<&str> = FORBIDDEN_IN_LANG.into_iter().collect();
    assert_eq!(
        listed, expected,
        "docs/architecture.md and tests/architecture.rs must name the same forbidden crates"
    );
}

#[test]
fn the_rules_table_is_read_as_written() {
    let doc = "<!-- rules -->\n| crate | may depend on |\n| --- | --- |\n\
               | `a` | nothing |\n| `b` | `a`, `c` |\n<!-- /rules -->";
    let rules = allowed_edges(doc);
    assert_eq!(rules["a"], BTreeSet::new());
    assert_eq!(
        rules["b"],
        BTreeSet::from(["a".to_string(), "c".to_string()])
    );
}
