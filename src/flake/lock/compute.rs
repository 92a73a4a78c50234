//! The recursion at the heart of locking (Nix's `computeLocks` in `lockFlake`, spec C4 step
//! 2): for each declared input, keep its old lock, follow another input, or fetch it and
//! lock it anew, then do the same for its own inputs.
//!
//! Locking is lazy as in Nix: a kept input is not fetched and its `flake.nix` is not read;
//! its inputs are taken from the old lock ([`Computer::keep_old_lock`]), so an up-to-date lock
//! file is recomputed without touching any input (tests: `tests/it/lazy_locking.rs`).

use std::collections::{BTreeMap, BTreeSet};

use super::Flags;
use super::overrides::{Override, Wanted};
use crate::flake::decl::InputDecl;
use crate::flake::load::{Loader, Source};
use crate::flake::lockfile::{Edge, LockFile, Locked, Node, NodeId};
use crate::flake::relative_path;
use crate::flake::{InputPath, print_path};
use crate::flakeref::{Attr, Attrs, FlakeRef, Input};

/// The state of one locking run.
pub struct Computer<'a, 'l> {
    /// Fetches and reads input flakes.
    pub loader: &'l Loader<'a>,
    /// The lock-file flags.
    pub flags: &'l Flags,
    /// Every override met so far, by the input path it replaces (the first one wins).
    pub overrides: BTreeMap<InputPath, Override>,
    /// The input paths `--override-input` names.
    pub cli_overrides: BTreeSet<InputPath>,
    /// The overrides that applied to an input.
    pub overrides_used: BTreeSet<InputPath>,
    /// The input paths that were locked (for `--update-input` that matches none).
    pub updates_used: BTreeSet<InputPath>,
    /// The references of the flakes being locked, from the top (circular imports).
    pub parents: Vec<FlakeRef>,
    /// The lock file being built.
    pub new: LockFile,
    /// The top-level flake as the user named it (for [`super::OutOfSync`]).
    pub top: String,
}

/// Where the old lock of a node is: a lock file and the node in it.
pub type OldNode<'o> = Option<(&'o LockFile, NodeId)>;

/// One node whose inputs are being locked, and how its input declarations are read (the
/// arguments of Nix's `computeLocks` besides the inputs themselves).
#[derive(Clone)]
pub struct Level<'o> {
    /// The node of the new lock file that gets the inputs.
    pub node: NodeId,
    /// Its input path in the lock file (`[]` for the root).
    pub prefix: InputPath,
    /// The old lock of this node, from which unchanged inputs are copied.
    pub old: OldNode<'o>,
    /// What `follows` of inputs copied from the old lock are relative to: the input path of
    /// the flake whose lock file they came from (`[]` for the top-level lock file).
    pub follows_prefix: InputPath,
    /// The flake whose inputs these are (relative path inputs resolve in its tree).
    pub source: Source,
    /// Whether the inputs were taken from the old lock file rather than a `flake.nix`: then a
    /// `follows` in the old lock needs no override to back it.
    pub trust_lock: bool,
}

impl Computer<'_, '_> {
    /// Starts a locking run: the `--override-input` flags become overrides resolving relative
    /// paths against the top-level flake at `top`.
    pub fn new<'a, 'l>(
        loader: &'l Loader<'a>,
        flags: &'l Flags,
        top: &Source,
        top_ref: &FlakeRef,
    ) -> Computer<'a, 'l> {
        let mut computer = Computer {
            loader,
            flags,
            overrides: BTreeMap::new(),
            cli_overrides: BTreeSet::new(),
            overrides_used: BTreeSet::new(),
            updates_used: BTreeSet::new(),
            parents: Vec::new(),
            new: LockFile::default(),
            top: top_ref
                .to_url_string()
                .unwrap_or_else(|_| top_ref.input.to_display()),
        };
        for (path, r) in &flags.input_overrides {
            computer
                .overrides
                .entry(path.clone())
                .or_insert_with(|| Override {
                    input: reference(r.clone(), true),
                    source: top.clone(),
                    parent: Vec::new(),
                });
            computer.cli_overrides.insert(path.clone());
        }
        computer
    }

    /// Locks `inputs` as the inputs of `level.node`.
    pub fn compute(
        &mut self,
        inputs: &BTreeMap<String, InputDecl>,
        level: &Level<'_>,
    ) -> anyhow::Result<()> {
        for (id, input) in inputs {
            let path = child(&level.prefix, id);
            self.add_overrides(input, &path, &level.source, &level.prefix);
        }
        self.warn_dangling_overrides(inputs, &level.prefix);
        self.prefetch(inputs, &level.prefix, level.old);
        for (id, declared) in inputs {
            self.compute_input(id, declared, level)?;
        }
        Ok(())
    }

    /// The warnings for the flags that matched no input (after [`Computer::compute`] ran from
    /// the root).
    pub fn unused_flag_warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        for (path, r) in &self.flags.input_overrides {
            if !self.overrides_used.contains(path) {
                warnings.push(format!(
                    "the flag '--override-input {} {}' does not match any input",
                    print_path(path),
                    r.to_url_string().unwrap_or_default()
                ));
            }
        }
        for path in &self.flags.input_updates {
            if !self.updates_used.contains(path) {
                warnings.push(format!(
                    "'{}' does not match any input of this flake",
                    print_path(path)
                ));
            }
        }
        warnings
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
        (same_reference(&locked.original, flake_ref)
            && locked.parent == *parent
            && !self.cli_overrides.contains(path))
        .then_some((file, *c))
    }

    /// Fetches, in parallel, the inputs of this level that will need a new lock, so that
    /// locking them one by one in Nix's order finds them fetched.
    fn prefetch(&self, inputs: &BTreeMap<String, InputDecl>, prefix: &InputPath, old: OldNode<'_>) {
        if self.loader.jobs < 2 || self.flags.frozen {
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

    /// Locks input `id` of `level`: a `follows` edge, the old lock kept, or a new lock.
    fn compute_input(
        &mut self,
        id: &str,
        declared: &InputDecl,
        level: &Level<'_>,
    ) -> anyhow::Result<()> {
        let wanted = self.wanted(id, declared, level);
        if let Some(target) = &wanted.decl.follows {
            self.new.nodes[level.node]
                .inputs
                .insert(id.to_owned(), Edge::Follows(target.clone()));
            return Ok(());
        }
        self.updates_used.insert(wanted.path.clone());
        match self.old_lock(
            level.old,
            id,
            &wanted.path,
            &wanted.flake_ref,
            &wanted.parent,
        ) {
            Some((old_file, old_id)) => self.keep_old_lock(id, &wanted, old_file, old_id, level),
            None if wanted.decl.is_flake => self.lock_new_flake(id, declared, &wanted, level),
            None => self.lock_new_non_flake(id, declared, &wanted, level),
        }
    }

    /// Copies the old lock of input `id` (Nix's "keeping existing input"), then locks its own
    /// inputs: from the old lock without fetching it ("we can be lazy"), unless an
    /// `--update-input` below it or a `follows` that lost its override needs its `flake.nix`.
    fn keep_old_lock(
        &mut self,
        id: &str,
        wanted: &Wanted,
        old_file: &LockFile,
        old_id: NodeId,
        level: &Level<'_>,
    ) -> anyhow::Result<()> {
        let old_locked = old_file.nodes[old_id]
            .locked
            .as_ref()
            .expect("old_lock returns locked nodes");
        let node = self.add_child(level.node, id, old_locked.clone());
        let below = Level {
            node,
            prefix: wanted.path.clone(),
            old: Some((old_file, old_id)),
            follows_prefix: level.follows_prefix.clone(),
            source: level.source.clone(),
            trust_lock: true,
        };
        match self.inputs_from_lock(old_file, old_id, &wanted.path, level) {
            Some(inputs) => self.compute(&inputs, &below),
            None => {
                self.refuse_if_frozen(&old_locked.locked, &wanted.path, "would be fetched")?;
                let flake =
                    self.input_flake(&old_locked.locked, &wanted.source, &wanted.path, false)?;
                let below = Level {
                    source: flake.source.clone(),
                    trust_lock: false,
                    ..below
                };
                self.compute(&flake.decl.inputs, &below)
            }
        }
    }

    /// The inputs of the kept node `old_id` as its old lock records them (Nix's "fake
    /// inputs"), or `None` when the input must be fetched after all: an `--update-input`
    /// names an input below it, or (with `flake.nix` inputs, not trusted) one of its `follows`
    /// edges has no override behind it any more.
    fn inputs_from_lock(
        &self,
        old_file: &LockFile,
        old_id: NodeId,
        path: &InputPath,
        level: &Level<'_>,
    ) -> Option<BTreeMap<String, InputDecl>> {
        if self
            .flags
            .input_updates
            .iter()
            .any(|u| u.len() > path.len() && u.starts_with(path))
        {
            return None;
        }
        let mut inputs = BTreeMap::new();
        for (name, edge) in &old_file.nodes[old_id].inputs {
            match edge {
                Edge::Node(c) => {
                    let Some(l) = &old_file.nodes[*c].locked else {
                        continue;
                    };
                    inputs.insert(name.clone(), reference(l.original.clone(), l.is_flake));
                }
                Edge::Follows(f) => {
                    if !level.trust_lock && !self.overrides.contains_key(&child(path, name)) {
                        return None;
                    }
                    let mut target = level.follows_prefix.clone();
                    target.extend(f.iter().cloned());
                    inputs.insert(name.clone(), follows(target));
                }
            }
        }
        Some(inputs)
    }

    /// The `original` of a new lock: with `--override-input`, the declared reference, so that
    /// the override does not stick in the lock file.
    fn original(declared: &InputDecl, wanted: &Wanted) -> FlakeRef {
        match (&declared.flake_ref, wanted.from_cli) {
            (Some(r), true) => r.clone(),
            _ => wanted.flake_ref.clone(),
        }
    }

    /// Fetches a flake input, locks it, then locks its inputs against its own lock file.
    fn lock_new_flake(
        &mut self,
        id: &str,
        declared: &InputDecl,
        wanted: &Wanted,
        level: &Level<'_>,
    ) -> anyhow::Result<()> {
        let flake_ref = &wanted.flake_ref;
        self.refuse_if_frozen(flake_ref, &wanted.path, "is not locked")?;
        let flake = self.input_flake(flake_ref, &wanted.source, &wanted.path, wanted.from_cli)?;
        let node = self.add_child(
            level.node,
            id,
            Locked {
                locked: flake.locked.clone(),
                original: Self::original(declared, wanted),
                is_flake: true,
                parent: wanted.parent.clone(),
            },
        );
        if let Some(p) = self.parents.iter().find(|p| *p == flake_ref) {
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
        let below = Level {
            node,
            prefix: wanted.path.clone(),
            old: Some((&own, own.root)),
            follows_prefix: wanted.path.clone(),
            source: flake.source.clone(),
            trust_lock: false,
        };
        let result = self.compute(&flake.decl.inputs, &below);
        self.parents.pop();
        result
    }

    /// Locks a non-flake input: a relative path as it is, anything else by fetching it.
    fn lock_new_non_flake(
        &mut self,
        id: &str,
        declared: &InputDecl,
        wanted: &Wanted,
        level: &Level<'_>,
    ) -> anyhow::Result<()> {
        let flake_ref = &wanted.flake_ref;
        let locked = if let Some(rel) = relative_path(&flake_ref.input) {
            wanted.source.relative(rel)?;
            flake_ref.clone()
        } else {
            self.refuse_if_frozen(flake_ref, &wanted.path, "is not locked")?;
            let resolved = self.loader.resolve(flake_ref, self.loader.mode(false))?;
            let (_, locked) = self.loader.fetch_to_store(&resolved.input)?;
            FlakeRef {
                input: locked.without_final(),
                subdir: flake_ref.subdir.clone(),
            }
        };
        self.add_child(
            level.node,
            id,
            Locked {
                locked,
                original: Self::original(declared, wanted),
                is_flake: false,
                parent: wanted.parent.clone(),
            },
        );
        Ok(())
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

    /// With [`Flags::frozen`], fails with [`super::OutOfSync`] where locking would resolve or
    /// fetch the non-relative input at `path` (`why` says why it would).
    fn refuse_if_frozen(
        &self,
        flake_ref: &FlakeRef,
        path: &InputPath,
        why: &str,
    ) -> anyhow::Result<()> {
        if !self.flags.frozen || relative_path(&flake_ref.input).is_some() {
            return Ok(());
        }
        let shown = flake_ref
            .to_url_string()
            .unwrap_or_else(|_| flake_ref.input.to_display());
        Err(super::OutOfSync {
            flake: self.top.clone(),
            reason: format!(
                "input '{}' ('{shown}') {why}",
                crate::flake::print_path(path)
            ),
        }
        .into())
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

/// A declaration of an input by reference.
fn reference(flake_ref: FlakeRef, is_flake: bool) -> InputDecl {
    InputDecl {
        flake_ref: Some(flake_ref),
        follows: None,
        is_flake,
        overrides: BTreeMap::new(),
        pos: Default::default(),
    }
}

/// A declaration of an input that follows `target` (an absolute input path).
fn follows(target: InputPath) -> InputDecl {
    InputDecl {
        flake_ref: None,
        follows: Some(target),
        is_flake: true,
        overrides: BTreeMap::new(),
        pos: Default::default(),
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

/// Whether an old lock's `original` and a declared reference are the same reference after
/// canonicalisation ([`canonical`]); most are equal as they are, which is cheaper to see.
fn same_reference(original: &FlakeRef, declared: &FlakeRef) -> bool {
    original == declared || canonical(original) == canonical(declared)
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
