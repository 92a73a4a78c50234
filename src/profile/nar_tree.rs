//! The NAR serialisation (spec SLA §A2) of a planned profile tree plus its `manifest.json`,
//! written straight from the plan: the profile object never exists as a temporary directory.
//! Nix builds it in a temporary directory and dumps that; the bytes are the same (directories,
//! symlinks, one non-executable regular file).

use super::buildenv::{Dir, Node};

/// Serialises `root` with a regular file `manifest.json` holding `manifest` at its top.
pub fn serialise(root: &Dir, manifest: &str) -> Vec<u8> {
    let mut out = Vec::new();
    s(&mut out, b"nix-archive-1");
    dir(&mut out, root, Some(manifest));
    out
}

/// A string: its length as a little-endian u64, the bytes, zero padding to 8 bytes.
fn s(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(bytes);
    out.resize(out.len() + (8 - bytes.len() % 8) % 8, 0);
}

fn dir(out: &mut Vec<u8>, d: &Dir, manifest: Option<&str>) {
    for t in ["(", "type", "directory"] {
        s(out, t.as_bytes());
    }
    let mut manifest = manifest;
    for (name, node) in d {
        // `manifest.json` is never linked (buildenv skips the name), so it has a slot of its
        // own among the entries, in byte order.
        if let Some(m) = manifest
            && name.as_str() > "manifest.json"
        {
            manifest_entry(out, m);
            manifest = None;
        }
        entry(out, name, |out| node_of(out, node));
    }
    if let Some(m) = manifest {
        manifest_entry(out, m);
    }
    s(out, b")");
}

fn manifest_entry(out: &mut Vec<u8>, text: &str) {
    entry(out, "manifest.json", |out| {
        for t in ["(", "type", "regular", "contents"] {
            s(out, t.as_bytes());
        }
        s(out, text.as_bytes());
        s(out, b")");
    });
}

fn entry(out: &mut Vec<u8>, name: &str, node: impl FnOnce(&mut Vec<u8>)) {
    for t in ["entry", "(", "name"] {
        s(out, t.as_bytes());
    }
    s(out, name.as_bytes());
    s(out, b"node");
    node(out);
    s(out, b")");
}

fn node_of(out: &mut Vec<u8>, node: &Node) {
    match node {
        Node::Dir(d) => dir(out, d, None),
        Node::Link { target, .. } => {
            for t in ["(", "type", "symlink", "target"] {
                s(out, t.as_bytes());
            }
            s(out, target.as_bytes());
            s(out, b")");
        }
    }
}
