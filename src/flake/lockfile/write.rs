//! Writing a lock file (spec C1, C3): Nix's `LockFile::toJSON` and `LockFile::to_string`.
//!
//! Keys are assigned depth first from the root, inputs in ascending name order: the root is
//! `root`, a node already seen keeps its key, and a new node gets its input name or, when that
//! is taken, `<name>_2`, `<name>_3`, … The text is the JSON with sorted keys, indented by two
//! spaces, followed by one newline (serde_json's pretty printer over sorted maps gives exactly
//! Nix's bytes).

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::{Map, Value};

use super::{Edge, LockFile, NodeId};
use crate::flakeref::attrs;

impl LockFile {
    /// Renders the version 7 text, byte for byte as Nix writes it (final newline included).
    pub fn to_text(&self) -> String {
        let mut buf = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"  ");
        let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
        // Serialising a `Value` into a Vec cannot fail.
        if self.to_json().serialize(&mut ser).is_err() {
            return String::new();
        }
        buf.push(b'\n');
        String::from_utf8(buf).unwrap_or_default()
    }

    /// The JSON value of the file (version 7, keys sorted); equal values mean equal locks.
    pub fn to_json(&self) -> Value {
        let mut keys = Keys::default();
        let root = keys.dump(self, "root".to_owned(), self.root);
        let mut top = Map::new();
        top.insert("nodes".into(), Value::Object(keys.nodes));
        top.insert("root".into(), Value::String(root));
        top.insert("version".into(), Value::from(7));
        Value::Object(top)
    }

    /// The key [`LockFile::to_json`] gives each node reachable from the root.
    pub fn node_keys(&self) -> HashMap<NodeId, String> {
        let mut keys = Keys::default();
        keys.dump(self, "root".to_owned(), self.root);
        keys.node_keys
    }
}

/// Key assignment in progress.
#[derive(Default)]
struct Keys {
    /// The keys given so far, by node.
    node_keys: HashMap<NodeId, String>,
    /// The keys in use.
    used: HashSet<String>,
    /// The JSON of the nodes dumped so far, by key.
    nodes: Map<String, Value>,
}

impl Keys {
    /// Gives node `id` a key (preferring `key`), dumps it and what it reaches, and returns its
    /// key (Nix's `dumpNode`).
    fn dump(&mut self, lock: &LockFile, key: String, id: NodeId) -> String {
        if let Some(k) = self.node_keys.get(&id) {
            return k.clone();
        }
        let key = if self.used.insert(key.clone()) {
            key
        } else {
            (2..)
                .map(|n| format!("{key}_{n}"))
                .find(|k| self.used.insert(k.clone()))
                .unwrap_or(key)
        };
        self.node_keys.insert(id, key.clone());

        let mut obj = Map::new();
        let Some(node) = lock.nodes.get(id) else {
            self.nodes.insert(key.clone(), Value::Object(obj));
            return key;
        };
        if !node.inputs.is_empty() {
            let mut inputs = Map::new();
            for (name, edge) in &node.inputs {
                let value = match edge {
                    Edge::Node(child) => Value::String(self.dump(lock, name.clone(), *child)),
                    Edge::Follows(path) => {
                        Value::Array(path.iter().cloned().map(Value::String).collect())
                    }
                };
                inputs.insert(name.clone(), value);
            }
            obj.insert("inputs".into(), Value::Object(inputs));
        }
        if let Some(l) = &node.locked {
            let locked = crate::flakeref::FlakeRef {
                input: l.locked.input.without_final(),
                subdir: l.locked.subdir.clone(),
            };
            let locked = attrs::to_json(&locked.to_attrs());
            obj.insert("locked".into(), Value::Object(locked));
            obj.insert(
                "original".into(),
                Value::Object(attrs::to_json(&l.original.to_attrs())),
            );
            if !l.is_flake {
                obj.insert("flake".into(), Value::Bool(false));
            }
            if let Some(parent) = &l.parent {
                obj.insert(
                    "parent".into(),
                    Value::Array(parent.iter().cloned().map(Value::String).collect()),
                );
            }
        }
        self.nodes.insert(key.clone(), Value::Object(obj));
        key
    }
}
