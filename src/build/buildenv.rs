//! Planning a profile's symlink tree (Nix's `buildProfile`, `src/libstore/builtins/buildenv.cc`;
//! spec P3.1, P3.2): which links the profile object holds, with priorities, propagated
//! packages and conflicts exactly as Nix decides them.
//!
//! The plan is pure: packages are read through a [`Tree`] (the effects layer maps store paths
//! to where a chroot store keeps them), and the output is an in-memory [`Dir`] that
//! [`crate::profile::object`] writes out. Entries of a directory are visited in byte order
//! (Nix visits them in `readdir` order, which only decides which of several conflicts is
//! reported first).

use std::collections::{BTreeMap, BTreeSet};

/// The kind of a file, following symlinks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A directory.
    Dir,
    /// Anything else (a file, a device…).
    Other,
}

/// Read access to the packages, by their logical paths (`/nix/store/…`).
pub trait Tree {
    /// The names of the entries of the directory `path`; `Ok(None)` if `path` is not a
    /// directory.
    fn read_dir(&self, path: &str) -> std::io::Result<Option<Vec<String>>>;
    /// What `path` is, following symlinks; `Ok(None)` if it does not exist (a dangling link).
    fn stat(&self, path: &str) -> std::io::Result<Option<Kind>>;
    /// `path` with every symlink resolved (Nix's `canonPath(path, true)`).
    fn canonicalize(&self, path: &str) -> std::io::Result<String>;
    /// The contents of the file `path`; `Ok(None)` if it (or a parent) does not exist.
    fn read_file(&self, path: &str) -> std::io::Result<Option<String>>;
}

/// A package to link: one store path of an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// Its logical path.
    pub path: String,
    /// Inactive packages are not linked.
    pub active: bool,
    /// Lower is stronger.
    pub priority: i64,
}

/// An entry of the planned tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A real directory (mode 0755).
    Dir(Dir),
    /// A symlink to `target`, made with `priority`.
    Link {
        /// The absolute target.
        target: String,
        /// The priority it was made with.
        priority: i64,
    },
}

/// A planned directory: entries by name.
pub type Dir = BTreeMap<String, Node>;

/// Why a profile cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Two files at one place with the same priority (Nix's `BuildEnvFileConflictError`).
    #[error(
        "Unable to build profile. There is a conflict for the following files:\n\n  \"{existing}\"\n  \"{incoming}\""
    )]
    Conflict {
        /// The target of the link already there.
        existing: String,
        /// The file that would replace it.
        incoming: String,
        /// Their priority.
        priority: i64,
    },
    /// A directory meets a link to something that is not one.
    #[error("collision between \"{src}\" and non-directory \"{target}\"")]
    NotDirectory {
        /// The incoming directory.
        src: String,
        /// Where the existing link leads.
        target: String,
    },
    /// A file meets a directory.
    #[error("collision between non-directory '{src}' and directory '{dst}'")]
    IsDirectory {
        /// The incoming file.
        src: String,
        /// The directory in the tree.
        dst: String,
    },
    /// Reading a package failed.
    #[error("reading '{path}': {}", crate::util::fs::strerror(io))]
    Io {
        /// The path read.
        path: String,
        /// The error (its text is part of the message).
        io: std::io::Error,
    },
}

/// A planned tree and the warnings Nix prints while building it.
#[derive(Debug, Default)]
pub struct Plan {
    /// The top directory.
    pub root: Dir,
    /// `not including …`, `skipping dangling symlink …`.
    pub warnings: Vec<String>,
}

/// The priority of the first round of propagated packages; each later package gets one more.
const PROPAGATED_PRIORITY: i64 = 1000;

/// Suffixes of source paths that are never linked.
const SKIPPED_SUFFIXES: [&str; 7] = [
    "/propagated-build-inputs",
    "/nix-support",
    "/perllocal.pod",
    "/info/dir",
    "/log",
    "/manifest.nix",
    "/manifest.json",
];

/// Plans the tree of `packages`; `out` is the output directory's name used in messages.
pub fn plan(tree: &dyn Tree, out: &str, mut packages: Vec<Package>) -> Result<Plan, Error> {
    let mut b = Builder {
        tree,
        out,
        plan: Plan::default(),
        done: BTreeSet::new(),
        postponed: BTreeSet::new(),
    };
    packages.sort_by(|a, b| a.priority.cmp(&b.priority).then(a.path.cmp(&b.path)));
    for p in packages.iter().filter(|p| p.active) {
        b.add_package(&p.path, p.priority)?;
    }
    let mut priority = PROPAGATED_PRIORITY;
    while !b.postponed.is_empty() {
        for path in std::mem::take(&mut b.postponed) {
            b.add_package(&path, priority)?;
            priority += 1;
        }
    }
    Ok(b.plan)
}

struct Builder<'a> {
    tree: &'a dyn Tree,
    out: &'a str,
    plan: Plan,
    done: BTreeSet<String>,
    postponed: BTreeSet<String>,
}

impl Builder<'_> {
    fn io(path: &str) -> impl FnOnce(std::io::Error) -> Error + '_ {
        move |io| Error::Io {
            path: path.to_owned(),
            io,
        }
    }

    fn add_package(&mut self, path: &str, priority: i64) -> Result<(), Error> {
        if !self.done.insert(path.to_owned()) {
            return Ok(());
        }
        self.link(path, &[], priority)?;
        let propagated = format!("{path}/nix-support/propagated-user-env-packages");
        if let Some(text) = self
            .tree
            .read_file(&propagated)
            .map_err(Self::io(&propagated))?
        {
            for p in text.split([' ', '\n']).filter(|p| !p.is_empty()) {
                if !self.done.contains(p) {
                    self.postponed.insert(p.to_owned());
                }
            }
        }
        Ok(())
    }

    /// Links the entries of `src` into the output directory at `dst` (names from the top).
    fn link(&mut self, src: &str, dst: &[String], priority: i64) -> Result<(), Error> {
        let Some(names) = self.tree.read_dir(src).map_err(Self::io(src))? else {
            if dst.is_empty() {
                self.plan.warnings.push(format!(
                    "not including \"{src}\" in the user environment because it's not a directory"
                ));
                return Ok(());
            }
            return Err(Self::io(src)(std::io::Error::from_raw_os_error(20)));
        };
        let mut names = names;
        names.sort();
        for name in names {
            if name.starts_with('.') {
                continue;
            }
            let src_file = format!("{src}/{name}");
            let mut dst_file = dst.to_vec();
            dst_file.push(name);
            let Some(kind) = self.tree.stat(&src_file).map_err(Self::io(&src_file))? else {
                let shown = self.shown(&dst_file);
                self.plan
                    .warnings
                    .push(format!("skipping dangling symlink '{shown}'"));
                continue;
            };
            if SKIPPED_SUFFIXES.iter().any(|s| src_file.ends_with(s)) {
                continue;
            }
            if kind == Kind::Dir {
                self.link_dir(&src_file, &dst_file, priority)?;
            } else {
                self.link_file(&src_file, &dst_file, priority)?;
            }
        }
        Ok(())
    }

    fn link_dir(
        &mut self,
        src_file: &str,
        dst_file: &[String],
        priority: i64,
    ) -> Result<(), Error> {
        match self.entry(dst_file).cloned() {
            Some(Node::Dir(_)) => self.link(src_file, dst_file, priority),
            Some(Node::Link {
                target,
                priority: old,
            }) => {
                let resolved = self.tree.canonicalize(&target).map_err(Self::io(&target))?;
                if self.tree.stat(&resolved).map_err(Self::io(&resolved))? != Some(Kind::Dir) {
                    return Err(Error::NotDirectory {
                        src: src_file.to_owned(),
                        target: resolved,
                    });
                }
                self.set(dst_file, Node::Dir(Dir::new()));
                self.link(&resolved, dst_file, old)?;
                self.link(src_file, dst_file, priority)
            }
            None => {
                self.set(dst_file, link_node(src_file, priority));
                Ok(())
            }
        }
    }

    fn link_file(
        &mut self,
        src_file: &str,
        dst_file: &[String],
        priority: i64,
    ) -> Result<(), Error> {
        match self.entry(dst_file) {
            Some(Node::Link {
                target,
                priority: old,
            }) => {
                if *old == priority {
                    return Err(Error::Conflict {
                        existing: target.clone(),
                        incoming: src_file.to_owned(),
                        priority,
                    });
                }
                if *old < priority {
                    return Ok(());
                }
            }
            Some(Node::Dir(_)) => {
                return Err(Error::IsDirectory {
                    src: src_file.to_owned(),
                    dst: self.shown(dst_file),
                });
            }
            None => {}
        }
        self.set(dst_file, link_node(src_file, priority));
        Ok(())
    }

    fn shown(&self, dst_file: &[String]) -> String {
        format!("{}/{}", self.out, dst_file.join("/"))
    }

    /// The entry at `path` (never empty) in the planned tree.
    fn entry(&self, path: &[String]) -> Option<&Node> {
        let (last, parents) = path.split_last()?;
        let mut dir = &self.plan.root;
        for p in parents {
            match dir.get(p) {
                Some(Node::Dir(d)) => dir = d,
                _ => return None,
            }
        }
        dir.get(last)
    }

    /// Sets the entry at `path`; its parents are directories of the plan (the walk made them).
    fn set(&mut self, path: &[String], node: Node) {
        let Some((last, parents)) = path.split_last() else {
            return;
        };
        let mut dir = &mut self.plan.root;
        for p in parents {
            let Some(Node::Dir(d)) = dir.get_mut(p) else {
                return;
            };
            dir = d;
        }
        dir.insert(last.clone(), node);
    }
}

fn link_node(target: &str, priority: i64) -> Node {
    Node::Link {
        target: target.to_owned(),
        priority,
    }
}

#[cfg(test)]
mod tests;
