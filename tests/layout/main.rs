//! The layout of the code, checked against itself and against its documentation: no file of
//! any crate imports in a cycle; core's folders import only the layers their module docs
//! name (`May import: …`), which form no cycle; the README's paper → code table and
//! docs/architecture.md name files, folders and items that exist.

mod graph;

use graph::{find_cycle, Graph};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn core_src() -> PathBuf {
    root().join("crates/core/src")
}

/// The folders of core (its top-level modules) with the layers their module docs allow.
fn declared_layers() -> BTreeMap<String, BTreeSet<String>> {
    let lib = fs::read_to_string(core_src().join("lib.rs")).unwrap();
    let folders: Vec<String> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';').to_string())
        .collect();
    folders
        .into_iter()
        .map(|folder| {
            let file = core_src().join(format!("{folder}.rs"));
            let text = fs::read_to_string(&file).unwrap();
            let line = text
                .lines()
                .take_while(|l| l.starts_with("//!"))
                .find_map(|l| l.strip_prefix("//! May import: "))
                .unwrap_or_else(|| panic!("{} has no `//! May import: …` line", file.display()));
            let allowed = line
                .trim_end_matches('.')
                .split(", ")
                .filter(|s| *s != "nothing")
                .map(String::from)
                .collect();
            (folder, allowed)
        })
        .collect()
}

/// The cycle, or every import that a folder's doc does not allow.
fn layer_faults(graph: &Graph, declared: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut faults = Vec::new();
    if let Some(cycle) = graph.file_cycle() {
        faults.push(format!("files import in a cycle: {}", cycle.join(" → ")));
    }
    let folders = graph.folder_edges();
    if let Some(cycle) = find_cycle(&folders) {
        faults.push(format!("folders import in a cycle: {}", cycle.join(" → ")));
    }
    for (folder, imports) in &folders {
        let allowed = declared.get(folder).cloned().unwrap_or_default();
        for to in imports.difference(&allowed) {
            let files: Vec<&str> = graph
                .edges
                .iter()
                .filter_map(|(f, tos)| {
                    let hit = f.split("::").next() == Some(folder.as_str())
                        && tos
                            .iter()
                            .any(|t| t.split("::").next() == Some(to.as_str()));
                    hit.then_some(f.as_str())
                })
                .collect();
            faults.push(format!(
                "{folder} imports {to} ({}), which its doc does not allow",
                files.join(", ")
            ));
        }
    }
    faults
}

#[test]
fn core_folders_import_only_the_layers_below_them_and_no_file_imports_in_a_cycle() {
    let graph = Graph::read(&core_src());
    let declared = declared_layers();
    assert!(declared.len() >= 8, "core's folders: {:?}", declared.keys());
    if let Some(cycle) = find_cycle(&declared) {
        panic!("the declared layers form a cycle: {}", cycle.join(" → "));
    }
    let faults = layer_faults(&graph, &declared);
    assert!(faults.is_empty(), "{}", faults.join("\n"));
}

#[test]
fn no_file_of_native_or_the_page_imports_in_a_cycle() {
    for src in ["crates/native/src", "web/src"] {
        let graph = Graph::read(&root().join(src));
        assert!(graph.edges.len() > 5, "{src}: {} files", graph.edges.len());
        if let Some(cycle) = graph.file_cycle() {
            panic!("{src}: files import in a cycle: {}", cycle.join(" → "));
        }
    }
}

fn sources(files: &[(&str, &str)]) -> Vec<(PathBuf, String)> {
    files
        .iter()
        .map(|(p, t)| (PathBuf::from(p), t.to_string()))
        .collect()
}

#[test]
fn the_check_finds_cycles_through_use_trees_paths_and_reexports_and_not_through_tests() {
    let facade = "//! May import: nothing.\nmod a;\nmod b;\npub use a::Alpha;\npub use b::Beta;\n";
    let cases = [
        // a uses b's item through the facade's re-export, b uses a's by a full path
        (("m/a.rs", "use super::Beta;\npub struct Alpha;"), ("m/b.rs", "pub struct Beta(crate::m::a::Alpha);"), true),
        // a use tree in braces, and `self::`/`super::` chains in code
        (("m/a.rs", "use crate::m::{b::{Beta}};\npub struct Alpha;"), ("m/b.rs", "pub struct Beta;\nfn f() { let _ = super::a::Alpha; }"), true),
        // one way only: no cycle
        (("m/a.rs", "use super::Beta;\npub struct Alpha;"), ("m/b.rs", "pub struct Beta;"), false),
        // the way back only in the tests at the bottom, or in a comment: no cycle
        (("m/a.rs", "use super::Beta;\npub struct Alpha;"), ("m/b.rs", "//! [`crate::m::a`]\npub struct Beta;\n#[cfg(test)]\nmod tests {\n    use crate::m::a::Alpha;\n}"), false),
    ];
    for (i, ((pa, ta), (pb, tb), cyclic)) in cases.into_iter().enumerate() {
        let graph = Graph::from_sources(sources(&[
            ("lib.rs", "pub mod m;"),
            ("m.rs", facade),
            (pa, ta),
            (pb, tb),
        ]));
        assert_eq!(
            graph.file_cycle().is_some(),
            cyclic,
            "case {i}: {:?}",
            graph.edges
        );
    }
}

#[test]
fn the_check_refuses_an_import_that_a_folder_does_not_declare() {
    let graph = Graph::from_sources(sources(&[
        ("lib.rs", "pub mod low;\npub mod high;"),
        ("low.rs", "//! May import: nothing.\npub mod x;"),
        ("low/x.rs", "use crate::high::y::Y;\npub struct X;"),
        ("high.rs", "//! May import: low.\npub mod y;"),
        ("high/y.rs", "use crate::low::x::X;\npub struct Y;"),
    ]));
    let declared = BTreeMap::from([
        ("low".to_string(), BTreeSet::new()),
        ("high".to_string(), BTreeSet::from(["low".to_string()])),
    ]);
    let faults = layer_faults(&graph, &declared);
    assert!(
        faults
            .iter()
            .any(|f| f.starts_with("files import in a cycle")),
        "{faults:?}"
    );
    assert!(
        faults
            .iter()
            .any(|f| f.starts_with("folders import in a cycle")),
        "{faults:?}"
    );
    assert!(
        faults
            .iter()
            .any(|f| f == "low imports high (low::x), which its doc does not allow"),
        "{faults:?}"
    );
}

/// The names an item of a row may be defined by: `Type::method` is `fn method`, else the
/// name itself as a fn, struct, enum, trait, type or const.
fn defines(text: &str, item: &str) -> bool {
    let name = item.rsplit("::").next().unwrap();
    [
        "fn", "struct", "enum", "trait", "type", "const", "static", "mod",
    ]
    .iter()
    .any(|kind| {
        text.match_indices(&format!("{kind} {name}")).any(|(i, m)| {
            let next = text[i + m.len()..].chars().next();
            !next.is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
    })
}

/// The backticked words of a markdown table cell.
fn ticked(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(String::from)
        .collect()
}

#[test]
fn the_readme_paper_to_code_table_names_files_and_items_that_exist() {
    let readme = fs::read_to_string(root().join("README.md")).unwrap();
    let table = readme
        .split("## Paper → code")
        .nth(1)
        .expect("README has a Paper → code section");
    let rows: Vec<&str> = table
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .collect();
    assert!(rows.len() >= 10, "{} rows", rows.len());
    for row in rows {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let (files, items) = (ticked(cells[2]), ticked(cells[3]));
        assert!(
            !files.is_empty() && !items.is_empty(),
            "row without files or items: {row}"
        );
        let first = root().join(&files[0]);
        let texts: Vec<String> = files
            .iter()
            .map(|f| {
                let path = if f.contains('/') {
                    root().join(f)
                } else {
                    first.parent().unwrap().join(f)
                };
                fs::read_to_string(&path)
                    .unwrap_or_else(|_| panic!("{}: no such file (row: {row})", path.display()))
            })
            .collect();
        for item in items {
            assert!(
                texts.iter().any(|t| defines(t, &item)),
                "`{item}` is not defined in {files:?} (row: {row})"
            );
        }
    }
}

#[test]
fn the_architecture_table_has_one_row_per_folder_of_core_that_names_what_exists() {
    let doc = fs::read_to_string(root().join("docs/architecture.md")).unwrap();
    let declared = declared_layers();
    let rows: BTreeMap<String, String> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("| `crates/core/src/"))
        .filter_map(|l| {
            let (folder, rest) = l.split_once("/` |")?;
            Some((folder.to_string(), rest.to_string()))
        })
        .collect();
    let folders: BTreeSet<&String> = declared.keys().collect();
    assert_eq!(
        rows.keys().collect::<BTreeSet<_>>(),
        folders,
        "one row per folder of core"
    );
    for (folder, row) in rows {
        for file in ticked(&row).iter().filter(|w| w.ends_with(".rs")) {
            let path = core_src().join(&folder).join(file);
            assert!(
                path.exists(),
                "docs/architecture.md: {} does not exist",
                path.display()
            );
        }
        for file in fs::read_dir(core_src().join(&folder)).unwrap() {
            let name = file.unwrap().file_name().to_string_lossy().into_owned();
            if name.ends_with(".rs") {
                assert!(
                    row.contains(&format!("`{name}`")),
                    "docs/architecture.md: the {folder} row does not name {name}"
                );
            }
        }
    }
}

#[test]
fn every_file_of_a_run_directory_is_in_its_doc_and_in_run_dir_s() {
    let code = fs::read_to_string(core_src().join("sweep/run_dir.rs")).unwrap();
    let (layout, code) = code.split_at(code.find("\nuse ").unwrap());
    let user_doc = fs::read_to_string(root().join("docs/run-directory.md")).unwrap();
    let names: BTreeSet<&str> = code
        .split("join(\"")
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect();
    assert!(names.len() >= 10, "{names:?}");
    for name in names {
        assert!(
            layout.contains(name),
            "run_dir.rs's layout does not name {name}"
        );
        assert!(
            user_doc.contains(name),
            "docs/run-directory.md does not name {name}"
        );
    }
}
