//! The recursion at the heart of locking (Nix's `computeLocks` in `lockFlake`, spec C4 step
//! 2): for each declared input, keep its old lock, follow another input, or fetch it and
//! lock it anew, then do the same for its own inputs.

use std::collections::{BTreeMap, BTreeSet};

use super::Flags;
use crate::flake::decl::InputDecl;
use crate::flake::load::{Loader, Source};
use crate::flake::lockfile::{Edge, LockFile, Locked, Node, NodeId};
use crate::flake::relative_path;
use crate::flake::{InputPath, print_path};
use crate::flakeref::{Attr, Attrs, FlakeRef, Input};

/// An override of an input path, from the command line or from a `flake.nix` up the tree.
#[derive(Clone)]
pub struct Override {
    /// The replacement declaration (a reference or a `follows`).
    pub input: InputDecl,
    /// The flake whose `flake.nix` wrote it (relative paths resolve there).
    pub source: Source,
    /// That flake's input path (the `parent` of a relative override).
    pub parent: InputPath,
}

/// The state of one locking run.
pub struct Computer<'a, 'l> {
    pub loader: &'l Loader<'a>,
    pub flags: &'l Flags,
    pub overrides: BTreeMap<InputPath, Override>,
    pub cli_overrides: BTreeSet<InputPath>,
    pub overrides_used: BTreeSet<InputPath>,
    pub updates_used: BTreeSet<InputPath>,
    pub parents: Vec<FlakeRef>,
    pub new: LockFile,
}

/// Where the old lock of a node is: a lock file and the node in it.
pub type OldNode<'o> = Option<(&'o LockFile, NodeId)>;

impl Computer<'_, '_> {
    /// Locks `inputs` as the inputs of `node` (at `prefix` in the lock file).
    #[allow(clippy::too_many_arguments)]
    pub fn compute(
        &mut self,
        inputs: &BTreeMap<String, InputDecl>,
        node: NodeId,
        prefix: &InputPath,
        old: OldNode<'_>,
        follows_prefix: &InputPath,
        source: &Source,
        trust_lock: bool,
    ) -> anyhow::Result<()> {
        for (id, input) in inputs {
            let path = child(prefix, id);
            self.add_overrides(input, &path, source, prefix);
        }
        let warnings: Vec<String> = self
            .overrides
            .keys()
            .filter_map(|p| {
                let (name, parent) = p.split_last()?;
                (parent == prefix.as_slice() && !inputs.contains_key(name)).then(|| {
                    format!(
                        "input '{}' has an override for a non-existent input '{name}'",
                        print_path(prefix)
                    )
                })
            })
            .collect();
        for w in warnings {
            self.loader.fetch.reporter.warn(&w);
        }
        self.prefetch(inputs, prefix, old);
        for (id, declared) in inputs {
            self.compute_input(
                id,
                declared,
                node,
                prefix,
                old,
                follows_prefix,
                source,
                trust_lock,
            )?;
        }
        Ok(())
    }

    fn add_overrides(
        &mut self,
        input: &InputDecl,
        at: &InputPath,
        source: &Source,
        prefix: &InputPath,
    ) {
        for (name, o) in &input.overrides {
            let path = child(at, name);
            if o.flake_ref.is_some() || o.follows.is_some() {
                self.overrides
                    .entry(path.clone())
                    .or_insert_with(|| Override {
                        input: o.clone(),
                        source: source.clone(),
                        parent: prefix.clone(),
                    });
            }
            self.add_overrides(o, &path, source, prefix);
        }
    }

    /// What an input is after overrides: the declaration to use, where relative paths resolve,
    /// and whether a command-line override applies.
    fn effective(
        &self,
        declared: &InputDecl,
        path: &InputPath,
        source: &Source,
    ) -> (InputDecl, Source, Option<InputPath>) {
        match self.overrides.get(path) {
            Some(o) => {
                let mut input = o.input.clone();
                input.is_flake = declared.is_flake;
                (input, o.source.clone(), Some(o.parent.clone()))
            }
            None => (declared.clone(), source.clone(), None),
        }
    }

    /// Whether the old lock of `id` can be kept for `flake_ref`.
    fn old_lock<'o>(
        &self,
        old: OldNode<'o>,
        id: &str,
        path: &InputPath,
        flake_ref: &FlakeRef,
        parent: &Option<InputPath>,
    ) -> Option<(&'o LockFile, NodeId)> {
        let (file, n) = old?;
        if self.flags.input_updates.contains(path) {
            return None;
        }
        let Some(Edge::Node(c)) = file.nodes[n].inputs.get(id) else {
            return None;
        };
        let locked = file.nodes[*c].locked.as_ref()?;
        (canonical(&locked.original) == canonical(flake_ref)
            && locked.parent == *parent
            && !self.cli_overrides.contains(path))
        .then_some((file, *c))
    }

    /// Fetches, in parallel, the inputs of this level that will need a new lock, so that
    /// locking them one by one in Nix's order finds them fetched.
    fn prefetch(&self, inputs: &BTreeMap<String, InputDecl>, prefix: &InputPath, old: OldNode<'_>) {
        if self.loader.jobs < 2 {
            return;
        }
        let mut todo = Vec::new();
        for (id, declared) in inputs {
            let path = child(prefix, id);
            let input = match self.overrides.get(&path) {
                Some(o) => &o.input,
                None => declared,
            };
            if input.follows.is_some() {
                continue;
            }
            let flake_ref = input.flake_ref.clone().unwrap_or_else(|| indirect(id));
            if relative_path(&flake_ref.input).is_some()
                || self.old_lock(old, id, &path, &flake_ref, &None).is_some()
            {
                continue;
            }
            let mode = self
                .loader
                .mode(self.cli_overrides.contains(&path) && input.is_flake);
            if let Ok(resolved) = self.loader.resolve(&flake_ref, mode) {
                todo.push(resolved.input);
            }
        }
        self.loader.prefetch(todo);
    }

    #[allow(clippy::too_many_arguments)]
    fn compute_input(
        &mut self,
        id: &str,
        declared: &InputDecl,
        node: NodeId,
        prefix: &InputPath,
        old: OldNode<'_>,
        follows_prefix: &InputPath,
        source: &Source,
        trust_lock: bool,
    ) -> anyhow::Result<()> {
        let path = child(prefix, id);
        let has_override = self.overrides.contains_key(&path);
        let has_cli_override = self.cli_overrides.contains(&path);
        if has_override {
            self.overrides_used.insert(path.clone());
        }
        let (input, override_source, override_parent) = self.effective(declared, &path, source);
        if let Some(target) = &input.follows {
            self.new.nodes[node]
                .inputs
                .insert(id.to_owned(), Edge::Follows(target.clone()));
            return Ok(());
        }
        let flake_ref = input.flake_ref.clone().unwrap_or_else(|| indirect(id));
        let parent = relative_path(&flake_ref.input)
            .map(|_| override_parent.clone().unwrap_or_else(|| prefix.clone()));
        self.updates_used.insert(path.clone());

        if let Some((old_file, old_id)) = self.old_lock(old, id, &path, &flake_ref, &parent) {
            let old_locked = old_file.nodes[old_id]
                .locked
                .clone()
                .expect("old_lock returns locked nodes");
            let child_node = self.add_child(node, id, old_locked.clone());
            let mut must_refetch = self
                .flags
                .input_updates
                .iter()
                .any(|u| u.len() > path.len() && u.starts_with(&path));
            let mut fake = BTreeMap::new();
            if !must_refetch {
                for (name, edge) in &old_file.nodes[old_id].inputs {
                    match edge {
                        Edge::Node(c) => {
                            let Some(l) = &old_file.nodes[*c].locked else {
                                continue;
                            };
                            fake.insert(
                                name.clone(),
                                InputDecl {
                                    flake_ref: Some(l.original.clone()),
                                    follows: None,
                                    is_flake: l.is_flake,
                                    overrides: BTreeMap::new(),
                                    pos: Default::default(),
                                },
                            );
                        }
                        Edge::Follows(f) => {
                            if !trust_lock && !self.overrides.contains_key(&child(&path, name)) {
                                must_refetch = true;
                                break;
                            }
                            let mut target = follows_prefix.clone();
                            target.extend(f.iter().cloned());
                            fake.insert(
                                name.clone(),
                                InputDecl {
                                    flake_ref: None,
                                    follows: Some(target),
                                    is_flake: true,
                                    overrides: BTreeMap::new(),
                                    pos: Default::default(),
                                },
                            );
                        }
                    }
                }
            }
            if must_refetch {
                let flake = self.input_flake(&old_locked.locked, &override_source, &path, false)?;
                let src = flake.source.clone();
                self.compute(
                    &flake.decl.inputs,
                    child_node,
                    &path,
                    Some((old_file, old_id)),
                    follows_prefix,
                    &src,
                    false,
                )?;
            } else {
                self.compute(
                    &fake,
                    child_node,
                    &path,
                    Some((old_file, old_id)),
                    follows_prefix,
                    source,
                    true,
                )?;
            }
            return Ok(());
        }

        // A new lock.
        let original = if has_cli_override {
            declared
                .flake_ref
                .clone()
                .unwrap_or_else(|| flake_ref.clone())
        } else {
            flake_ref.clone()
        };
        if input.is_flake {
            let flake = self.input_flake(&flake_ref, &override_source, &path, has_cli_override)?;
            let child_node = self.add_child(
                node,
                id,
                Locked {
                    locked: flake.locked.clone(),
                    original,
                    is_flake: true,
                    parent,
                },
            );
            if let Some(p) = self.parents.iter().find(|p| **p == flake_ref) {
                anyhow::bail!(
                    "found circular import of flake '{}'",
                    p.to_url_string().unwrap_or_else(|_| p.input.to_display())
                );
            }
            self.parents.push(flake_ref.clone());
            let own = super::read_lock_file(
                &flake.lock_file_path(),
                &flake.source.flake_lock_shown(),
                self.flags,
                self.loader.fetch.reporter,
            )?;
            let src = flake.source.clone();
            let result = self.compute(
                &flake.decl.inputs,
                child_node,
                &path,
                Some((&own, own.root)),
                &path,
                &src,
                false,
            );
            self.parents.pop();
            result
        } else {
            let locked = if let Some(rel) = relative_path(&flake_ref.input) {
                override_source.relative(rel)?;
                flake_ref.clone()
            } else {
                let resolved = self.loader.resolve(&flake_ref, self.loader.mode(false))?;
                let (_, locked) = self.loader.fetch_to_store(&resolved.input)?;
                FlakeRef {
                    input: locked.without_final(),
                    subdir: flake_ref.subdir.clone(),
                }
            };
            self.add_child(
                node,
                id,
                Locked {
                    locked,
                    original,
                    is_flake: false,
                    parent,
                },
            );
            Ok(())
        }
    }

    /// Adds a node locking `locked` as input `id` of `node`, and returns it.
    fn add_child(&mut self, node: NodeId, id: &str, locked: Locked) -> NodeId {
        let child = self.new.add(Node {
            inputs: BTreeMap::new(),
            locked: Some(locked),
        });
        self.new.nodes[node]
            .inputs
            .insert(id.to_owned(), Edge::Node(child));
        child
    }

    /// Gets an input's flake: from its parent's tree when it is relative, else by fetching.
    fn input_flake(
        &self,
        flake_ref: &FlakeRef,
        source: &Source,
        path: &InputPath,
        from_cli: bool,
    ) -> anyhow::Result<crate::flake::load::Flake> {
        if let Some(rel) = relative_path(&flake_ref.input) {
            let src = source.relative(rel)?;
            let src = Source {
                dir: join_dir(&src.dir, &flake_ref.subdir),
                ..src
            };
            self.loader.read_relative(flake_ref, src, path)
        } else {
            self.loader
                .get_flake(flake_ref, self.loader.mode(from_cli), path)
        }
    }
}

fn join_dir(a: &str, b: &str) -> String {
    match (a.is_empty(), b.trim_matches('/').is_empty()) {
        (_, true) => a.to_owned(),
        (true, false) => b.trim_matches('/').to_owned(),
        (false, false) => format!("{a}/{}", b.trim_matches('/')),
    }
}

/// `prefix/name`.
pub fn child(prefix: &InputPath, name: &str) -> InputPath {
    let mut p = prefix.clone();
    p.push(name.to_owned());
    p
}

/// The indirect reference `flake:<id>` of an input declared without a reference.
pub fn indirect(id: &str) -> FlakeRef {
    let mut attrs = Attrs::new();
    attrs.insert("type".into(), Attr::Str("indirect".into()));
    attrs.insert("id".into(), Attr::Str(id.to_owned()));
    FlakeRef {
        input: Input::from_attrs(attrs, &crate::report::Silent).expect("a valid indirect input"),
        subdir: String::new(),
    }
}

/// The form two references are compared in to decide whether an old lock still applies
/// (Nix's `FlakeRef::canonicalize`): `__final` and a `.git`-less `url` do not matter, and the
/// `url` is re-rendered without a `dir` query parameter equal to the subdirectory (older Nix
/// wrote `"url": "file:///r?dir=sub"` next to `"dir": "sub"` in `original`; Nix's
/// `old-lockfiles.sh`).
fn canonical(r: &FlakeRef) -> Attrs {
    let mut attrs = r.to_attrs();
    attrs.retain(|k, _| Input::is_identity_attr(k));
    if let Some(Attr::Str(url)) = attrs.get("url")
        && let Ok(mut parsed) = crate::flakeref::url::parse(url)
    {
        if !r.subdir.is_empty() && parsed.query.get("dir") == Some(&r.subdir) {
            parsed.query.remove("dir");
        }
        attrs.insert("url".into(), Attr::Str(parsed.to_string()));
    }
    attrs
}
