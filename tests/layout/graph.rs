//! The import graph of a crate, read from its sources: one node per file (a module), an edge
//! A → B when A's code names an item of B through `use` or a `crate::`, `super::`, `self::`
//! or child-module path. Items re-exported with `pub use` are followed to the file that
//! defines them, so a folder's facade module (declarations and re-exports only) is not a
//! node its children depend on. Test code is left out: the `mod tests` at the bottom of a
//! file and modules declared under `#[cfg(test)]`; nothing imports a test, so tests cannot
//! close a cycle. Comments are left out too (doc links are not imports).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// One source file of the crate.
pub struct Module {
    /// The module path, "" for the crate root: `analysis::analyze`.
    pub path: String,
    /// The code outside comments and tests.
    code: String,
    /// The child modules it declares (`mod x;`, inline `mod x {}` too).
    children: BTreeSet<String>,
    /// Names re-exported by `pub use`: name → full path of the item.
    reexports: BTreeMap<String, Vec<String>>,
}

/// The modules of a crate and the edges between their files.
pub struct Graph {
    pub modules: BTreeMap<String, Module>,
    /// File module → the file modules it imports from.
    pub edges: BTreeMap<String, BTreeSet<String>>,
}

impl Graph {
    /// Reads every `.rs` file under `src` (the crate root is `lib.rs` or `main.rs`).
    pub fn read(src: &Path) -> Graph {
        let mut files = Vec::new();
        walk(src, &mut files);
        let sources = files
            .into_iter()
            .map(|f| {
                let rel = f.strip_prefix(src).unwrap().to_path_buf();
                (rel, fs::read_to_string(&f).unwrap())
            })
            .collect();
        Graph::from_sources(sources)
    }

    /// The graph of files given as (path relative to `src/`, text).
    pub fn from_sources(sources: Vec<(PathBuf, String)>) -> Graph {
        let mut modules = BTreeMap::new();
        let mut test_only = BTreeSet::new();
        for (file, text) in sources {
            let path = module_path(&file);
            let (code, tests) = code_of(&text);
            for t in tests {
                test_only.insert(join(&path, &t));
            }
            let children = declared_modules(&code);
            let module = Module {
                path: path.clone(),
                code,
                children,
                reexports: BTreeMap::new(),
            };
            modules.insert(path, module);
        }
        modules.retain(|p, _| {
            !test_only
                .iter()
                .any(|t| p == t || p.starts_with(&format!("{t}::")))
        });
        let reexports: Vec<(String, BTreeMap<String, Vec<String>>)> = modules
            .values()
            .map(|m| (m.path.clone(), reexports_of(m)))
            .collect();
        for (path, r) in reexports {
            modules.get_mut(&path).unwrap().reexports = r;
        }
        let mut graph = Graph {
            modules,
            edges: BTreeMap::new(),
        };
        let edges = graph
            .modules
            .values()
            .map(|m| (m.path.clone(), graph.imports_of(m)))
            .collect();
        graph.edges = edges;
        graph
    }

    /// The file modules that `m` names items of.
    fn imports_of(&self, m: &Module) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for (position, path) in paths_in(&m.code) {
            let scope = scope_at(m, position);
            if let Some(absolute) = absolute(&scope, &path, &self.children_of(&scope)) {
                let target = self.resolve(&absolute, 0);
                if target != m.path {
                    out.insert(target);
                }
            }
        }
        out
    }

    fn children_of(&self, scope: &str) -> BTreeSet<String> {
        let file = self.file_module(&split(scope));
        let mut children = self.modules[&file].children.clone();
        if scope != file {
            // inside an inline module: its own children are unknown; keep the file's
            children.clear();
        }
        children
    }

    /// The longest prefix of `segments` that is a file module.
    fn file_module(&self, segments: &[String]) -> String {
        (0..=segments.len())
            .rev()
            .map(|n| segments[..n].join("::"))
            .find(|p| self.modules.contains_key(p))
            .unwrap_or_default()
    }

    /// The file that defines the item at `segments` (from the root), through re-exports.
    fn resolve(&self, segments: &[String], hops: usize) -> String {
        let file = self.file_module(segments);
        let depth = if file.is_empty() {
            0
        } else {
            split(&file).len()
        };
        if hops < 16 {
            if let Some(name) = segments.get(depth) {
                if let Some(target) = self.modules[&file].reexports.get(name) {
                    let mut next = target.clone();
                    next.extend_from_slice(&segments[depth + 1..]);
                    return self.resolve(&next, hops + 1);
                }
            }
        }
        file
    }

    /// A cycle among the files, as its modules in order, if there is one.
    pub fn file_cycle(&self) -> Option<Vec<String>> {
        find_cycle(&self.edges)
    }

    /// The edges between top-level folders (the first segment of a module path); the crate
    /// root is left out, as the facade of everything.
    pub fn folder_edges(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, tos) in &self.edges {
            let Some(a) = top(from) else { continue };
            let entry = out.entry(a.clone()).or_default();
            for to in tos {
                if let Some(b) = top(to) {
                    if b != a {
                        entry.insert(b);
                    }
                }
            }
        }
        out
    }
}

/// The first cycle of a directed graph found by depth-first search.
pub fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.into(), 1);
        stack.push(node.into());
        for next in edges.get(node).into_iter().flatten() {
            match state.get(next.as_str()).copied().unwrap_or(0) {
                1 => {
                    let start = stack.iter().position(|n| n == next).unwrap();
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(next, edges, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.into(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in edges.keys() {
        if state.get(node.as_str()).copied().unwrap_or(0) == 0 {
            if let Some(c) = visit(node, edges, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

fn split(path: &str) -> Vec<String> {
    path.split("::")
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

fn join(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.into()
    } else {
        format!("{a}::{b}")
    }
}

fn top(module: &str) -> Option<String> {
    split(module).into_iter().next()
}

/// `analysis/analyze.rs` → `analysis::analyze`; `lib.rs`, `main.rs` → ""; `x/mod.rs` → `x`.
fn module_path(file: &Path) -> String {
    let mut parts: Vec<String> = file
        .iter()
        .map(|s| s.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main") {
        parts.clear();
    }
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts.join("::")
}

/// The code of a file without comments and without its tests, and the modules it declares
/// under `#[cfg(test)]`.
fn code_of(text: &str) -> (String, Vec<String>) {
    let mut code = String::new();
    let mut tests = Vec::new();
    let mut cfg_test = false;
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("//") {
            continue;
        }
        if cfg_test {
            if let Some(name) = mod_name(t) {
                if t.trim_end().ends_with(';') {
                    tests.push(name);
                } else {
                    break; // the tests at the bottom of the file
                }
            }
            cfg_test = false;
        }
        if t.starts_with("#[cfg(test)]") {
            cfg_test = true;
            continue;
        }
        code.push_str(line);
        code.push('\n');
    }
    (code, tests)
}

/// `x` of a line `mod x;`, `pub mod x {`, `pub(crate) mod x;`.
fn mod_name(line: &str) -> Option<String> {
    let rest = line
        .strip_prefix("pub(crate) ")
        .or_else(|| line.strip_prefix("pub "))
        .unwrap_or(line);
    let rest = rest.strip_prefix("mod ")?;
    let name: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

fn declared_modules(code: &str) -> BTreeSet<String> {
    code.lines()
        .filter_map(|l| mod_name(l.trim_start()))
        .collect()
}

/// The byte ranges of the inline modules of a file's code, with their names.
fn inline_modules(code: &str) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in code.split_inclusive('\n') {
        let t = line.trim_start();
        if let Some(name) = mod_name(t) {
            if t.trim_end().ends_with('{') {
                let open = offset + line.find('{').unwrap();
                out.push((open, matching_brace(code, open), name));
            }
        }
        offset += line.len();
    }
    out
}

/// The position of the brace that closes the one at `open`, skipping string literals.
fn matching_brace(code: &str, open: usize) -> usize {
    let bytes = code.as_bytes();
    let (mut depth, mut i, mut in_string) = (0usize, open, false);
    while i < bytes.len() {
        match (bytes[i], in_string) {
            (b'\\', true) => i += 1,
            (b'"', _) => in_string = !in_string,
            (b'{', false) => depth += 1,
            (b'}', false) => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
        i += 1;
    }
    bytes.len()
}

/// The module whose scope holds byte `position` of `m`'s code (an inline module or the file).
fn scope_at(m: &Module, position: usize) -> String {
    let mut scope = m.path.clone();
    for (open, close, name) in inline_modules(&m.code) {
        if open < position && position < close {
            scope = join(&scope, &name);
        }
    }
    scope
}

/// Every path the code names, with its position: each leaf of a `use` tree, and every
/// `crate::`, `super::`, `self::` or `child::` chain elsewhere.
fn paths_in(code: &str) -> Vec<(usize, Vec<String>)> {
    let mut out = Vec::new();
    let mut rest_start = 0;
    let mut plain = String::new();
    for (start, end) in use_statements(code) {
        plain.push_str(&code[rest_start..start]);
        let tree = code[start..end].trim_start();
        let tree = tree[tree.find("use ").unwrap() + 4..].trim_end_matches(';');
        for p in expand(Vec::new(), tree) {
            out.push((start, p));
        }
        plain.push_str(&" ".repeat(end - start));
        rest_start = end;
    }
    plain.push_str(&code[rest_start..]);
    out.extend(chains(&plain));
    out
}

/// The byte ranges of the `use …;` statements.
fn use_statements(code: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in code.split_inclusive('\n') {
        let t = line.trim_start();
        let t = ["pub(crate) ", "pub(super) ", "pub "]
            .iter()
            .find_map(|p| t.strip_prefix(p))
            .unwrap_or(t);
        if t.starts_with("use ") {
            let start = offset;
            let end = offset + code[offset..].find(';').unwrap() + 1;
            if out.last().is_none_or(|&(_, e)| start >= e) {
                out.push((start, end));
            }
        }
        offset += line.len();
    }
    out
}

/// The leaves of a use tree: `a::{b, c::{d, e as f}}` → a::b, a::c::d, a::c::e.
fn expand(prefix: Vec<String>, tree: &str) -> Vec<Vec<String>> {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let mut head = prefix.clone();
        head.extend(split(tree[..open].trim_end_matches("::")));
        let inner = &tree[open + 1..tree.rfind('}').unwrap()];
        return top_level_items(inner)
            .into_iter()
            .flat_map(|item| expand(head.clone(), item))
            .collect();
    }
    let tree = tree.split(" as ").next().unwrap().trim();
    let mut path = prefix;
    for s in split(tree) {
        if s != "self" || path.is_empty() {
            path.push(s);
        }
    }
    if path.last().is_some_and(|s| s == "*") {
        path.pop();
    }
    vec![path]
}

fn top_level_items(inner: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&inner[start..]);
    out.into_iter().filter(|s| !s.trim().is_empty()).collect()
}

/// `ident::ident::…` chains in code, with their positions.
fn chains(code: &str) -> Vec<(usize, Vec<String>)> {
    let bytes = code.as_bytes();
    let is_ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if is_ident(bytes[i]) && (i == 0 || !(is_ident(bytes[i - 1]) || bytes[i - 1] == b':')) {
            let start = i;
            let mut j = i;
            let mut segments = Vec::new();
            loop {
                let s = j;
                while j < bytes.len() && is_ident(bytes[j]) {
                    j += 1;
                }
                segments.push(code[s..j].to_string());
                if code[j..].starts_with("::") && j + 2 < bytes.len() && is_ident(bytes[j + 2]) {
                    j += 2;
                } else {
                    break;
                }
            }
            if segments.len() > 1 {
                out.push((start, segments));
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// `path` as seen from module `scope`, from the crate root; `None` for other crates.
fn absolute(scope: &str, path: &[String], children: &BTreeSet<String>) -> Option<Vec<String>> {
    let mut base = split(scope);
    let first = path.first()?;
    let rest = match first.as_str() {
        "crate" => {
            base.clear();
            &path[1..]
        }
        "self" => &path[1..],
        "super" => {
            let mut n = 0;
            while path.get(n).is_some_and(|s| s == "super") {
                base.pop();
                n += 1;
            }
            &path[n..]
        }
        name if children.contains(name) => path,
        _ => return None,
    };
    base.extend_from_slice(rest);
    Some(base)
}

/// The `pub use` re-exports of a module: name → the full path of the item.
fn reexports_of(m: &Module) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for (start, end) in use_statements(&m.code) {
        let statement = m.code[start..end].trim_start();
        if !statement.starts_with("pub ") {
            continue;
        }
        let tree = statement[statement.find("use ").unwrap() + 4..].trim_end_matches(';');
        for leaf in tree_leaves_with_alias(tree) {
            let (path, name) = leaf;
            if let Some(abs) = absolute(&m.path, &path, &m.children) {
                out.insert(name, abs);
            }
        }
    }
    out
}

/// The leaves of a use tree with the name each is known by (its alias, or its last segment).
fn tree_leaves_with_alias(tree: &str) -> Vec<(Vec<String>, String)> {
    fn go(prefix: Vec<String>, tree: &str, out: &mut Vec<(Vec<String>, String)>) {
        let tree = tree.trim();
        if let Some(open) = tree.find('{') {
            let mut head = prefix;
            head.extend(split(tree[..open].trim_end_matches("::")));
            let inner = &tree[open + 1..tree.rfind('}').unwrap()];
            for item in top_level_items(inner) {
                go(head.clone(), item, out);
            }
            return;
        }
        let mut parts = tree.split(" as ");
        let path_text = parts.next().unwrap().trim();
        let mut path = prefix;
        path.extend(split(path_text));
        let name = match parts.next() {
            Some(alias) => alias.trim().to_string(),
            None => path.last().cloned().unwrap_or_default(),
        };
        if name != "*" && name != "self" {
            out.push((path, name));
        }
    }
    let mut out = Vec::new();
    go(Vec::new(), tree, &mut out);
    out
}
