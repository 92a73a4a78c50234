//! Writing `manifest.json` version 3 byte for byte as current Nix does (spec P4.3): compact,
//! keys in byte order, no trailing newline. The text is hashed into the profile's store path,
//! so a single differing byte changes every generation path.

use super::{Element, Manifest, Outputs};
use crate::store::StoreDir;

/// Renders `manifest` as current Nix's `ProfileManifest::toJSON(…).dump()`.
pub fn to_json(manifest: &Manifest, store_dir: &StoreDir) -> String {
    let mut out = String::from("{\"elements\":{");
    for (i, (name, element)) in manifest.elements.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_str(&mut out, name);
        out.push(':');
        push_element(&mut out, element, store_dir);
    }
    out.push_str("},\"version\":3}");
    out
}

/// One element; its keys are written in byte order: `active, attrPath, originalUrl, outputs,
/// priority, storePaths, url` (the source fields only with a source).
fn push_element(out: &mut String, e: &Element, store_dir: &StoreDir) {
    out.push_str("{\"active\":");
    out.push_str(if e.active { "true" } else { "false" });
    if let Some(s) = &e.source {
        out.push_str(",\"attrPath\":");
        push_str(out, &s.attr_path);
        out.push_str(",\"originalUrl\":");
        push_str(out, s.original_url());
        out.push_str(",\"outputs\":");
        match &s.outputs {
            Outputs::Default => out.push_str("null"),
            Outputs::All => out.push_str("[\"*\"]"),
            Outputs::Names(names) => push_list(out, names.iter().map(String::as_str)),
        }
    }
    out.push_str(",\"priority\":");
    out.push_str(&e.priority.to_string());
    out.push_str(",\"storePaths\":");
    let paths: Vec<String> = e.store_paths.iter().map(|p| store_dir.print(p)).collect();
    push_list(out, paths.iter().map(String::as_str));
    if let Some(s) = &e.source {
        out.push_str(",\"url\":");
        push_str(out, s.locked_url());
    }
    out.push('}');
}

fn push_list<'a>(out: &mut String, items: impl Iterator<Item = &'a str>) {
    out.push('[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_str(out, item);
    }
    out.push(']');
}

/// A JSON string as nlohmann's `dump()` writes it: `"` and `\` escaped, control characters as
/// `\b \f \n \r \t` or `\u00xx` (lower-case hex), `/` and non-ASCII left as they are.
fn push_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}
