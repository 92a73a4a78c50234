//! Reading a lock file (spec C2): Nix's `LockFile::LockFile(contents, path)` and the
//! `LockedNode` constructor of `lockfile.cc`.
//!
//! The graph is built by walking from the root node; each key is loaded once (shared nodes get
//! one [`NodeId`]) and nodes nobody reaches are dropped. Version 5's `info` object is merged
//! into `locked`. A `narHash` is checked (SRI, SHA-256) and stored padded.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::{Edge, Error, LockFile, Locked, Node, NodeId, is_relative};
use crate::flake::InputPath;
use crate::flakeref::attrs::{self, Attr, Attrs};
use crate::flakeref::normalise_nar_hash;
use crate::flakeref::{self, FlakeRef};
use crate::report::{Reporter, Silent};

impl LockFile {
    /// Parses the text of a lock file; `path` names it in messages.
    ///
    /// Lockedness is not checked here: see [`LockFile::check_locked`].
    pub fn parse(text: &str, path: &str) -> Result<LockFile, Error> {
        LockFile::parse_reporting(text, path, &Silent)
    }

    /// [`LockFile::parse`], with the warnings of reading the refs (e.g. about git URLs) sent to
    /// `report`.
    pub fn parse_reporting(
        text: &str,
        path: &str,
        report: &dyn Reporter,
    ) -> Result<LockFile, Error> {
        let json: Value = serde_json::from_str(text).map_err(|e| Error::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let Value::Object(top) = &json else {
            return Err(type_error(
                306,
                &format!("cannot use value() with {}", type_name(&json)),
            ));
        };
        let version = match top.get("version") {
            None => 0,
            Some(Value::Number(n)) => n
                .as_i64()
                .or_else(|| n.as_f64().map(|f| f as i64))
                .unwrap_or(i64::MAX),
            Some(v) => return Err(type_must_be("number", v)),
        };
        if !(5..=7).contains(&version) {
            return Err(Error::UnsupportedVersion {
                path: path.to_owned(),
                version,
            });
        }
        let root_key = match top.get("root") {
            Some(Value::String(s)) => s.as_str(),
            Some(v) => return Err(type_must_be("string", v)),
            None => return Err(type_must_be("string", &Value::Null)),
        };
        let empty = Map::new();
        let nodes = match top.get("nodes") {
            Some(Value::Object(m)) => m,
            _ => &empty,
        };
        let mut reader = Reader {
            nodes,
            root_key,
            ids: HashMap::new(),
            lock: LockFile::default(),
            report,
        };
        let root = reader.lock.root;
        if let Some(root_json) = nodes.get(root_key) {
            reader.load_inputs(root, root_json)?;
        }
        Ok(reader.lock)
    }

    /// Checks that every node is locked or relative, as Nix does when it reads a lock file
    /// (the `LockedNode` constructor). A node that is unlocked but has a `narHash` gives a
    /// warning (returned, in depth-first order); one without fails with
    /// `Lock file contains unlocked input '<attrs>'. Use '--allow-dirty-locks' to accept this
    /// lock file.`
    ///
    /// `allow_dirty_locks` does not change the outcome: Nix's reader does not consult the
    /// setting either (it only matters when writing, see [`LockFile::find_unlocked_ref`]).
    /// `trust_tarballs_from_git_forges` is the setting of that name.
    pub fn check_locked(
        &self,
        allow_dirty_locks: bool,
        trust_tarballs_from_git_forges: bool,
    ) -> Result<Vec<String>, Error> {
        let _ = allow_dirty_locks;
        let mut warnings = Vec::new();
        for (_, id) in self.nodes_depth_first() {
            let Some(locked) = self.locked(id) else {
                continue;
            };
            let r = &locked.locked;
            let input = r.input.without_final();
            if input.is_locked(trust_tarballs_from_git_forges) || is_relative(r) {
                continue;
            }
            if input.attrs().contains_key("narHash") {
                let shown = FlakeRef {
                    input,
                    subdir: r.subdir.clone(),
                }
                .to_url_string()?;
                warnings.push(format!(
                    "Lock file entry '{shown}' is unlocked (e.g. lacks a Git revision) but is \
                     checked by NAR hash. This is not reproducible and will break after garbage \
                     collection or when shared."
                ));
            } else {
                return Err(Error::Unlocked(attrs::to_compact_json(input.attrs())));
            }
        }
        Ok(warnings)
    }
}

/// The state of one parse: the `nodes` object and the keys loaded so far.
struct Reader<'a> {
    nodes: &'a Map<String, Value>,
    root_key: &'a str,
    ids: HashMap<&'a str, NodeId>,
    lock: LockFile,
    report: &'a dyn Reporter,
}

impl<'a> Reader<'a> {
    /// Reads the `inputs` of the JSON node `json` into node `id`, loading the nodes they name
    /// depth first (a node's inputs before its next sibling, as Nix's recursive reader does)
    /// with an explicit stack: a lock file's depth is input, not bounded by the native stack.
    fn load_inputs(&mut self, id: NodeId, json: &'a Value) -> Result<(), Error> {
        let mut stack = vec![(id, inputs_of(json)?)];
        while let Some((node, entries)) = stack.last_mut() {
            let node = *node;
            let Some((name, value)) = entries.next() else {
                stack.pop();
                continue;
            };
            let edge = match value {
                Value::Array(elems) => Edge::Follows(string_array(elems)?),
                Value::String(key) => match self.known_node(key)? {
                    Some(child) => Edge::Node(child),
                    None => {
                        if stack.len() >= super::MAX_DEPTH {
                            return Err(Error::TooDeep);
                        }
                        let (child, child_json) = self.add_node(key)?;
                        stack.push((child, inputs_of(child_json)?));
                        Edge::Node(child)
                    }
                },
                other => return Err(type_must_be("string", other)),
            };
            self.lock.nodes[node].inputs.insert(name.clone(), edge);
        }
        Ok(())
    }

    /// Returns the id of the node with key `key` if it was loaded already.
    fn known_node(&self, key: &str) -> Result<Option<NodeId>, Error> {
        if key == self.root_key {
            return Err(Error::CycleToRoot);
        }
        Ok(self.ids.get(key).copied())
    }

    /// Adds the node with key `key` (not loaded yet) without its inputs; returns its id and
    /// JSON.
    fn add_node(&mut self, key: &'a str) -> Result<(NodeId, &'a Value), Error> {
        let json = self
            .nodes
            .get(key)
            .ok_or_else(|| Error::MissingNode(key.to_owned()))?;
        let locked = read_locked(json, self.report)?;
        let id = self.lock.add(Node {
            inputs: Default::default(),
            locked: Some(locked),
        });
        self.ids.insert(key, id);
        Ok((id, json))
    }
}

/// The `inputs` of a JSON node (none when absent).
fn inputs_of(json: &Value) -> Result<serde_json::map::Iter<'_>, Error> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    match json.get("inputs") {
        None => Ok(EMPTY.get_or_init(Map::new).iter()),
        Some(Value::Object(inputs)) => Ok(inputs.iter()),
        Some(other) => Err(type_must_be("object", other)),
    }
}

/// Reads the lock of a non-root node (Nix's `LockedNode` constructor, without the lockedness
/// check).
fn read_locked(json: &Value, report: &dyn Reporter) -> Result<Locked, Error> {
    let locked = read_ref(json, "locked", Some("info"), report)?;
    let original = read_ref(json, "original", None, report)?;
    let is_flake = match json.get("flake") {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(v) => return Err(type_must_be("boolean", v)),
    };
    let parent = match json.get("parent") {
        None => None,
        Some(Value::Array(elems)) => Some(string_array(elems)?),
        Some(v) => return Err(type_must_be("array", v)),
    };
    Ok(Locked {
        locked,
        original,
        is_flake,
        parent,
    })
}

/// Reads the ref in attribute `attr` of a node, merging the attributes of `info` when given
/// and present (lock file version 5).
fn read_ref(
    json: &Value,
    attr: &'static str,
    info: Option<&str>,
    report: &dyn Reporter,
) -> Result<FlakeRef, Error> {
    let value = json.get(attr).ok_or(Error::MissingAttr(attr))?;
    let mut attrs = json_attrs(value)?;
    if let Some(extra) = info.and_then(|i| json.get(i)) {
        attrs.extend(json_attrs(extra)?);
    }
    // Checked as Nix's `Input::getNarHash` does (SRI, SHA-256; empty means the all-zero
    // placeholder and is kept as is) and stored padded.
    if let Some(Attr::Str(h)) = attrs.get("narHash") {
        let normalised = normalise_nar_hash(h)?;
        if !h.is_empty() {
            attrs.insert("narHash".into(), Attr::Str(normalised));
        }
    }
    Ok(FlakeRef::from_attrs(attrs, report)?)
}

/// Converts a JSON object to attributes (Nix's `jsonToAttrs`).
fn json_attrs(value: &Value) -> Result<Attrs, Error> {
    match value {
        Value::Object(obj) => Ok(attrs::from_json(obj)?),
        _ => Err(
            flakeref::Error::Invalid("unsupported input attribute type in lock file".into()).into(),
        ),
    }
}

/// Converts a JSON array of strings (a follows path or `parent`).
fn string_array(elems: &[Value]) -> Result<InputPath, Error> {
    elems
        .iter()
        .map(|e| match e {
            Value::String(s) => Ok(s.clone()),
            other => Err(type_must_be("string", other)),
        })
        .collect()
}

/// The name nlohmann's JSON library gives a value's type.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// nlohmann's type error, as Nix shows it when a lock file has a value of the wrong type.
fn type_error(id: u32, msg: &str) -> Error {
    Error::Msg(format!("[json.exception.type_error.{id}] {msg}"))
}

/// nlohmann's `type must be <expected>, but is <actual>`.
fn type_must_be(expected: &str, v: &Value) -> Error {
    type_error(
        302,
        &format!("type must be {expected}, but is {}", type_name(v)),
    )
}
