//! Calling a locked flake's `outputs` (Nix's `callFlake` and `call-flake.nix` in
//! `src/libflake/`), natively: for each lock-file node a source-info set (the fetched tree's
//! attributes, fetched when first needed), its `outPath` (with the node's `dir`), and, for a
//! flake, `outputs // sourceInfo // { outPath; inputs; outputs; sourceInfo; _type = "flake"; }`
//! where `outputs` is the flake's `outputs` function applied to its inputs and `self`, the
//! result itself. A non-flake input is its source info. Everything is lazy, as in Nix: an input
//! is fetched only when its value is needed.
//!
//! The root node (and every relative `path:` input, which lives in its parent's tree) is
//! passed as an already fetched tree, as Nix passes its `overrides`.
//!
//! # Deviations
//!
//! - A relative `path:` input's source info is its parent's tree with the input's own locked
//!   attributes, as Nix gives it when the input was locked in the same process.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::eval::builtins::tree_attrs;
use crate::eval::context::Context;
use crate::eval::error::{R, err};
use crate::eval::io::FetchedTree;
use crate::eval::machine::{Machine, io_error};
use crate::eval::pos::PosIdx;
use crate::eval::symbol::Symbol;
use crate::eval::value::{Attr, Attrs, Value};
use crate::flake::lockfile::{Edge, LockFile, NodeId};

/// The root flake as locking left it: its tree, its directory in the tree, and whether it is
/// shown as dirty (no `rev`).
#[derive(Clone, Debug)]
pub struct Root {
    /// The fetched tree (store path and locked input).
    pub tree: FetchedTree,
    /// The flake's directory inside the tree (`dir`), `""` at the root.
    pub dir: String,
}

/// The values of one node, made once and shared (so `self` is the result itself).
#[derive(Clone)]
struct NodeValues {
    source_info: Value,
    result: Value,
    /// The flake's directory inside its tree.
    dir: String,
}

struct Graph {
    lock: LockFile,
    root: Root,
    nodes: RefCell<HashMap<NodeId, NodeValues>>,
}

/// The value of the locked flake `root` with lock file `lock`: what `getFlake` returns and
/// what installables select from.
pub fn call_flake(lock: LockFile, root: Root) -> Value {
    let g = Rc::new(Graph {
        lock,
        root,
        nodes: RefCell::new(HashMap::new()),
    });
    let id = g.lock.root;
    Value::native(move |m| {
        let v = node(&g, id)?.result;
        m.force(&v)
    })
}

fn attr(name: &str, value: Value) -> Attr {
    Attr {
        name: Symbol::intern(name),
        value,
        pos: PosIdx::NONE,
    }
}

/// `path` with `.` and `..` resolved, inside a tree (`""` is the tree's root).
fn join_dir(base: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = base.split('/').filter(|s| !s.is_empty()).collect();
    for seg in rel.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

/// The values of node `id`, made on first use.
fn node(g: &Rc<Graph>, id: NodeId) -> R<NodeValues> {
    if let Some(v) = g.nodes.borrow().get(&id) {
        return Ok(v.clone());
    }
    let values = make_node(g, id)?;
    g.nodes.borrow_mut().insert(id, values.clone());
    Ok(values)
}

/// The parent node of a relative path input (`parent`, an input path from the root).
fn parent_of(g: &Graph, id: NodeId) -> R<Option<NodeId>> {
    let Some(locked) = g.lock.nodes.get(id).and_then(|n| n.locked.as_ref()) else {
        return Ok(None);
    };
    let Some(rel) = crate::flake::relative_path(&locked.locked.input) else {
        return Ok(None);
    };
    let _ = rel;
    let path = locked.parent.clone().unwrap_or_default();
    match g.lock.resolve(&path) {
        Ok(Some(p)) => Ok(Some(p)),
        Ok(None) => err(format!(
            "lock file has no node at input path '{}'",
            crate::flake::print_path(&path)
        )),
        Err(e) => err(e.to_string()),
    }
}

fn make_node(g: &Rc<Graph>, id: NodeId) -> R<NodeValues> {
    let lock_node = g.lock.nodes.get(id);
    let locked = lock_node.and_then(|n| n.locked.as_ref());
    let is_flake = locked.is_none_or(|l| l.is_flake);
    let (dir, source_info) = if id == g.lock.root {
        let tree = g.root.tree.clone();
        (
            g.root.dir.clone(),
            Value::native(move |_| Ok(tree_attrs(&tree, false, false))),
        )
    } else if let Some(parent) = parent_of(g, id)? {
        let Some(locked) = locked else {
            return err("internal error: a relative input without a lock");
        };
        let rel = crate::flake::relative_path(&locked.locked.input).unwrap_or_default();
        let parent_values = node(g, parent)?;
        let dir = join_dir(&parent_values.dir, rel);
        let input = locked.locked.input.clone();
        let parent_si = parent_values.source_info.clone();
        let si = Value::native(move |m| {
            let (path, _) = out_path_of(m, &parent_si)?;
            let tree = FetchedTree {
                path,
                input: input.clone(),
            };
            Ok(tree_attrs(&tree, false, false))
        });
        (dir, si)
    } else {
        let Some(locked) = locked else {
            return err("internal error: a lock-file node without a lock");
        };
        let input = locked.locked.input.clone();
        let si = Value::native(move |m| {
            let tree = m.io.fetch_tree(&input, true).map_err(io_error)?;
            Ok(tree_attrs(&tree, false, false))
        });
        (locked.locked.subdir.clone(), si)
    };
    let result = if is_flake {
        let g2 = g.clone();
        Value::native(move |m| flake_result(m, &g2, id))
    } else {
        source_info.clone()
    };
    Ok(NodeValues {
        source_info,
        result,
        dir,
    })
}

/// The `outPath` of a source-info set, with its context.
fn out_path_of(m: &mut Machine, source_info: &Value) -> R<(String, Context)> {
    let mut ctx = Context::default();
    let s = m.coerce_to_string(source_info, &mut ctx, false, false)?;
    Ok((String::from_utf8_lossy(&s).into_owned(), ctx))
}

/// A flake node's result: its outputs, its source info and the flake attributes.
fn flake_result(m: &mut Machine, g: &Rc<Graph>, id: NodeId) -> R<Value> {
    let me = node(g, id)?;
    let (tree_path, ctx) = out_path_of(m, &me.source_info)?;
    let out_path = if me.dir.is_empty() {
        tree_path
    } else {
        format!("{tree_path}/{}", me.dir)
    };
    let flake_nix = crate::eval::paths::canonicalise(&format!("{out_path}/flake.nix"));
    let flake = m.import(&flake_nix)?;
    let Value::Attrs(flake) = m.force(&flake)? else {
        return err(format!("file '{flake_nix}' must be an attribute set"));
    };
    let Some(outputs_fn) = flake.get(Symbol::intern("outputs")) else {
        return err(format!("flake '{out_path}' lacks attribute 'outputs'"));
    };
    let outputs_fn = outputs_fn.value.clone();
    if !m.is_function(&outputs_fn)? {
        let v = m.force(&outputs_fn)?;
        return err(format!(
            "expected a function but found {}: {}",
            v.show_type(),
            crate::eval::print::brief(&v)
        ));
    }
    let inputs = inputs_of(g, id)?;
    let mut args = inputs.clone();
    args.push(attr("self", me.result.clone()));
    let outputs = Value::apply_lazily(outputs_fn, Value::attrs(args));
    let forced = m.attrs_of(&outputs)?;
    let source_info = m.attrs_of(&me.source_info)?;
    let extra = Attrs::from_unsorted(vec![
        attr("outPath", Value::string_with(out_path, ctx)),
        attr("inputs", Value::attrs(inputs)),
        attr("outputs", outputs),
        attr("sourceInfo", me.source_info.clone()),
        attr("_type", Value::string("flake")),
    ]);
    let merged = forced.update(&source_info).update(&extra);
    Ok(Value::Attrs(Rc::new(merged)))
}

/// A node's inputs: each name to its node's result (following `follows`), lazily.
fn inputs_of(g: &Rc<Graph>, id: NodeId) -> R<Vec<Attr>> {
    let Some(n) = g.lock.nodes.get(id) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (name, edge) in &n.inputs {
        let g2 = g.clone();
        let edge = edge.clone();
        let v = Value::native(move |m| {
            let target = match &edge {
                Edge::Node(t) => *t,
                Edge::Follows(path) => match g2.lock.resolve(path) {
                    Ok(Some(t)) => t,
                    Ok(None) => {
                        return err(format!(
                            "input '{}' follows a non-existent input",
                            crate::flake::print_path(path)
                        ));
                    }
                    Err(e) => return err(e.to_string()),
                },
            };
            let r = node(&g2, target)?.result;
            m.force(&r)
        });
        out.push(attr(name, v));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::join_dir;

    #[test]
    fn dirs_join_inside_the_tree() {
        assert_eq!(join_dir("", "./sub"), "sub");
        assert_eq!(join_dir("a/b", "../c"), "a/c");
        assert_eq!(join_dir("a", "."), "a");
    }
}
