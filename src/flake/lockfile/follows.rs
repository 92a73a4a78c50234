//! Walking the graph (spec C6): resolving input paths through follows edges with cycle
//! detection (Nix's `LockFile::findInput`), checking follows edges (`LockFile::check`), listing
//! all inputs by path (`LockFile::getAllInputs`) and finding unlocked nodes
//! (`LockFile::isUnlocked`).

use std::collections::{BTreeMap, HashSet};

use super::{Edge, Error, LockFile, NodeId, is_relative};
use crate::flake::{InputPath, print_path};
use crate::flakeref::FlakeRef;

impl LockFile {
    /// Follows `path` from the root, resolving follows edges on the way (spec C6). `Ok(None)`
    /// when an edge is missing; an error for a follows cycle. The empty path is the root.
    pub fn resolve(&self, path: &[String]) -> Result<Option<NodeId>, Error> {
        let mut visited = Vec::new();
        self.find(path, &mut visited)
    }

    /// Resolves `path`, with `visited` the paths being resolved further up (Nix's `doFind`).
    fn find(&self, path: &[String], visited: &mut Vec<InputPath>) -> Result<Option<NodeId>, Error> {
        if let Some(start) = visited.iter().position(|p| p == path) {
            let mut cycle: Vec<String> = visited[start..].iter().map(|p| print_path(p)).collect();
            cycle.push(print_path(path));
            return Err(Error::FollowCycle(cycle));
        }
        visited.push(path.to_vec());
        let mut pos = self.root;
        for elem in path {
            match self.nodes.get(pos).and_then(|n| n.inputs.get(elem)) {
                Some(Edge::Node(id)) => pos = *id,
                Some(Edge::Follows(target)) => match self.find(target, visited)? {
                    Some(id) => pos = id,
                    None => return Ok(None),
                },
                None => return Ok(None),
            }
        }
        Ok(Some(pos))
    }

    /// Checks that every non-empty follows edge resolves (Nix's `LockFile::check`):
    /// `input '<a>' follows a non-existent input '<b>'`, `follow cycle detected: [..]`.
    pub fn check(&self) -> Result<(), Error> {
        for (path, edge) in self.all_inputs() {
            if let Edge::Follows(target) = edge
                && !target.is_empty()
                && self.resolve(&target)?.is_none()
            {
                return Err(Error::NonExistentFollows {
                    input: print_path(&path),
                    follows: print_path(&target),
                });
            }
        }
        Ok(())
    }

    /// The first input (by path, depth first) whose `locked` is neither locked nor relative,
    /// as its input path.
    pub fn find_unlocked(&self, trust_tarballs_from_git_forges: bool) -> Option<InputPath> {
        self.find_unlocked_ref(trust_tarballs_from_git_forges, false)
            .map(|(path, _)| path)
    }

    /// Like [`LockFile::find_unlocked`], also returning the node's locked ref (which Nix's
    /// messages show). With `allow_dirty_locks` (the setting), a node that has a `narHash`
    /// counts as locked.
    pub fn find_unlocked_ref(
        &self,
        trust_tarballs_from_git_forges: bool,
        allow_dirty_locks: bool,
    ) -> Option<(InputPath, &FlakeRef)> {
        self.nodes_depth_first().into_iter().find_map(|(path, id)| {
            let r = &self.locked(id)?.locked;
            let locked = r.input.is_locked(trust_tarballs_from_git_forges)
                || (allow_dirty_locks && r.input.attrs().contains_key("narHash"));
            (!locked && !is_relative(r)).then_some((path, r))
        })
    }

    /// All inputs by path (depth first, sorted), for the diff: each path maps to the node edge
    /// or follows path it has. As in Nix, the inputs of a shared node are listed only under
    /// the first path that reaches it.
    pub fn all_inputs(&self) -> BTreeMap<InputPath, Edge> {
        let mut done = HashSet::new();
        let mut res = BTreeMap::new();
        self.collect_inputs(&mut Vec::new(), self.root, &mut done, &mut res);
        res
    }

    fn collect_inputs(
        &self,
        prefix: &mut InputPath,
        id: NodeId,
        done: &mut HashSet<NodeId>,
        res: &mut BTreeMap<InputPath, Edge>,
    ) {
        if !done.insert(id) {
            return;
        }
        let Some(node) = self.nodes.get(id) else {
            return;
        };
        for (name, edge) in &node.inputs {
            prefix.push(name.clone());
            res.entry(prefix.clone()).or_insert_with(|| edge.clone());
            if let Edge::Node(child) = edge {
                self.collect_inputs(prefix, *child, done, res);
            }
            prefix.pop();
        }
    }

    /// Every non-root node reachable from the root through node edges, once each, in
    /// depth-first pre-order with inputs in ascending name order, with the path of its first
    /// visit.
    pub fn nodes_depth_first(&self) -> Vec<(InputPath, NodeId)> {
        let mut seen = HashSet::from([self.root]);
        let mut out = Vec::new();
        self.visit(&mut Vec::new(), self.root, &mut seen, &mut out);
        out
    }

    fn visit(
        &self,
        prefix: &mut InputPath,
        id: NodeId,
        seen: &mut HashSet<NodeId>,
        out: &mut Vec<(InputPath, NodeId)>,
    ) {
        let Some(node) = self.nodes.get(id) else {
            return;
        };
        for (name, edge) in &node.inputs {
            if let Edge::Node(child) = edge
                && seen.insert(*child)
            {
                prefix.push(name.clone());
                out.push((prefix.clone(), *child));
                self.visit(prefix, *child, seen, out);
                prefix.pop();
            }
        }
    }
}
