//! The flake-graph builder: input flakes written once into one `TestEnv` (so both tools see the
//! same absolute paths, which the lock file records), a root flake at `<root>/root`, and a
//! loopback server for tarball inputs.
//!
//! `flake.nix` texts use two placeholders: `@DIR@` is the test root (absolute, canonical) and
//! `@HTTP@` the base URL of the tarball server (`http://127.0.0.1:<port>/files`).

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

use crate::support::{CommandOutput, GitRepo, HttpServer, TestEnv, git_in};

/// The date of every file and directory of path flakes and tarballs, and of every first commit
/// (`GitRepo`'s fixed date): 2023-11-14 22:13:20 UTC.
pub const MTIME: u64 = 1_700_000_000;

/// What kind of flake the root is.
enum Root {
    Unset,
    /// A plain directory: the root is `path:<root>/root`.
    Path,
    /// A git work tree with everything committed: the root is `git+file://<root>/root`.
    Git(GitRepo),
}

/// A flake graph under construction, and the runs of both tools on it.
pub struct Graph {
    env: TestEnv,
    server: Option<HttpServer>,
    tarballs: Vec<Vec<u8>>,
    root: Root,
    flags: Vec<String>,
}

impl Graph {
    /// Creates an empty graph whose commands run in `<root>/root`, or returns `None` (after a
    /// note) when `nix` is missing.
    pub fn new() -> Option<Graph> {
        if !crate::support::require_nix() {
            return None;
        }
        let mut env = TestEnv::new();
        env.set_cwd("root");
        Some(Graph {
            env,
            server: None,
            tarballs: vec![],
            root: Root::Unset,
            flags: vec![],
        })
    }

    /// Returns the environment.
    pub fn env(&self) -> &TestEnv {
        &self.env
    }

    /// Replaces the `@DIR@` and `@HTTP@` placeholders.
    pub fn expand(&self, text: &str) -> String {
        let text = text.replace("@DIR@", &self.env.root().display().to_string());
        match &self.server {
            Some(server) => text.replace("@HTTP@", &server.url("/files")),
            None => text,
        }
    }

    /// Replaces the tarball server's address by `$HTTP` (the root is already `$TEST_ENV`).
    pub fn normalize(&self, text: &str) -> String {
        match &self.server {
            Some(server) => text.replace(&server.url(""), "$HTTP"),
            None => text.to_owned(),
        }
    }

    /// Writes `files` (placeholders expanded) under `rel`.
    fn write_files(&self, rel: &str, files: &[(&str, &str)]) {
        for (name, contents) in files {
            self.env
                .write(format!("{rel}/{name}"), self.expand(contents));
        }
    }

    /// Sets the mtime of everything under `rel` (symlinks themselves included) to [`MTIME`], so
    /// that a path input's `lastModified` is fixed.
    fn fix_mtimes(&self, rel: &str) {
        let status = Command::new("find")
            .arg(self.env.path(rel))
            .args([
                "-exec",
                "touch",
                "-h",
                "-d",
                &format!("@{MTIME}"),
                "{}",
                "+",
            ])
            .status()
            .unwrap();
        assert!(status.success(), "touch -h under {rel}");
    }

    /// A `path:` flake at `rel` with `flake_nix` and the extra `files`.
    pub fn path_flake(&self, rel: &str, flake_nix: &str, files: &[(&str, &str)]) {
        self.write_files(rel, &[("flake.nix", flake_nix)]);
        self.write_files(rel, files);
        self.fix_mtimes(rel);
    }

    /// A plain directory (a `flake = false` input) with `files`.
    pub fn path_tree(&self, rel: &str, files: &[(&str, &str)]) {
        self.write_files(rel, files);
        self.fix_mtimes(rel);
    }

    /// A git repository at `rel` with one commit (fixed identity and date) of `flake_nix`.
    pub fn git_flake(&self, rel: &str, flake_nix: &str) -> GitRepo {
        let repo = GitRepo::init(self.env.path(rel));
        repo.write("flake.nix", self.expand(flake_nix));
        repo.commit_all("init");
        repo
    }

    /// Serves `<name>.tar.gz` at `@HTTP@/<name>.tar.gz`: one top-level directory `<name>/`
    /// holding `files`, every entry dated [`MTIME`].
    pub fn tarball(&mut self, name: &str, files: &[(&str, &str)]) {
        let served = self.env.path("served");
        self.server.get_or_insert_with(|| {
            let server = HttpServer::start();
            server.serve_dir("/files", &served);
            server
        });
        let mut b = tar::Builder::new(Vec::new());
        let mut add = |path: &str, ty: tar::EntryType, mode: u32, data: &[u8]| {
            let mut h = tar::Header::new_ustar();
            h.set_path(path).unwrap();
            h.set_entry_type(ty);
            h.set_mode(mode);
            h.set_mtime(MTIME);
            h.set_size(data.len() as u64);
            h.set_cksum();
            b.append(&h, data).unwrap();
        };
        add(&format!("{name}/"), tar::EntryType::Directory, 0o755, b"");
        for (file, contents) in files {
            let contents = self.expand(contents);
            add(
                &format!("{name}/{file}"),
                tar::EntryType::Regular,
                0o644,
                contents.as_bytes(),
            );
        }
        let tar = b.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, &tar).unwrap();
        let bytes = gz.finish().unwrap();
        self.env.write(format!("served/{name}.tar.gz"), &bytes);
        self.tarballs.push(bytes);
    }

    /// Makes `<root>/root` a plain directory flake.
    pub fn path_root(&mut self, flake_nix: &str) {
        self.path_flake("root", flake_nix, &[]);
        self.root = Root::Path;
    }

    /// Makes `<root>/root` a git work tree with `flake_nix` committed.
    pub fn git_root(&mut self, flake_nix: &str) {
        let repo = self.git_flake("root", flake_nix);
        self.root = Root::Git(repo);
    }

    /// Adds flags (placeholders expanded) to every `flake archive` run of both tools.
    pub fn flags(&mut self, flags: &[&str]) {
        let flags: Vec<String> = flags.iter().map(|f| self.expand(f)).collect();
        self.flags.extend(flags);
    }

    /// Returns whether the root is a git work tree.
    pub fn is_git_root(&self) -> bool {
        matches!(self.root, Root::Git(_))
    }

    /// Returns the downloaded tarballs (Nix 2.8 keeps them in its store as flat files).
    pub fn tarball_bytes(&self) -> &[Vec<u8>] {
        &self.tarballs
    }

    /// The arguments of a `flake archive` run: `args`, the store, the graph's flags, `.`.
    fn archive_args<'a>(&'a self, store: &'a str, args: &[&'a str]) -> Vec<&'a str> {
        let mut all = vec!["flake", "archive"];
        all.extend_from_slice(args);
        all.extend(["--store", store]);
        all.extend(self.flags.iter().map(String::as_str));
        all.push(".");
        all
    }

    /// Runs `nix flake archive ARGS --store <root>/stores/STORE FLAGS .` in the root.
    pub fn nix(&self, store: &str, args: &[&str]) -> CommandOutput {
        let store = self.store_dir(store).display().to_string();
        self.env.run_nix(&self.archive_args(&store, args))
    }

    /// Runs `rflake flake archive ARGS --store <root>/stores/STORE FLAGS .` in the root.
    pub fn rflake(&self, store: &str, args: &[&str]) -> CommandOutput {
        let store = self.store_dir(store).display().to_string();
        self.env.run(&self.archive_args(&store, args))
    }

    /// Returns the root of the local store named `name`.
    pub fn store_dir(&self, name: &str) -> PathBuf {
        self.env.path("stores").join(name)
    }

    /// Returns the entries of `<store>/nix/store` (hidden ones such as `.links` left out).
    pub fn store_entries(&self, name: &str) -> BTreeSet<String> {
        let dir = self.store_dir(name).join("nix/store");
        let Ok(entries) = fs::read_dir(&dir) else {
            return BTreeSet::new();
        };
        entries
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| !n.starts_with('.'))
            .collect()
    }

    /// Returns the root's `flake.lock`, if any.
    pub fn lock_file(&self) -> Option<String> {
        self.env
            .try_read("root/flake.lock")
            .map(|b| String::from_utf8(b).unwrap())
    }

    /// Replaces the root's `flake.lock` by `text`.
    pub fn set_lock_file(&self, text: &str) {
        self.env.write("root/flake.lock", text);
    }

    /// Replaces the root's `flake.nix` (placeholders expanded); a git root commits it.
    pub fn set_flake_nix(&self, text: &str) {
        self.env.write("root/flake.nix", self.expand(text));
        match &self.root {
            Root::Git(repo) => {
                repo.git(&["add", "flake.nix"]);
                repo.commit("edit flake.nix");
            }
            _ => self.fix_mtimes("root"),
        }
    }

    /// Removes the root's `flake.lock` (from the git index too), back to the state before
    /// locking.
    pub fn unlock(&self) {
        if let Root::Git(repo) = &self.root {
            repo.git(&[
                "rm",
                "-q",
                "--cached",
                "--force",
                "--ignore-unmatch",
                "--",
                "flake.lock",
            ]);
        }
        let _ = fs::remove_file(self.env.path("root/flake.lock"));
        if self.is_git_root() {
            assert_eq!(self.git_status(), "", "the root is clean again");
        }
    }

    /// Returns `git status --porcelain` of a git root.
    pub fn git_status(&self) -> String {
        git_in(&self.env.path("root"), &["status", "--porcelain"])
    }
}
