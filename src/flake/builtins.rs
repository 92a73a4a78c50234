//! The fetching and locking behind the evaluator's builtins (`fetchTree`, `fetchGit`,
//! `fetchTarball`, `fetchurl`, `getFlake`) and its flake inputs: what Nix's
//! `primops/fetchTree.cc` and `flake-primops.cc` do once the arguments are checked, over a
//! [`Session`]. `crate::eval_host` calls these from its `Io` methods.
//!
//! # Deviations
//!
//! - `fetchurl` and `fetchTarball` go through the `file` and `tarball` fetchers (their cache
//!   and their store paths); `fetchurl`'s result is then added as Nix adds a downloaded file
//!   (a flat fixed-output path named `name`).
//! - `getFlake` in pure evaluation still resolves the indirect inputs of the flake it locks
//!   through the registries (Nix does not use registries there).

use std::collections::BTreeSet;
use std::io::Read;

use anyhow::Context as _;

use super::call::{Root, call_flake};
use super::lock::{self, Flags};
use super::session::Session;
use crate::eval::io::{FetchedTree, UrlFetch};
use crate::eval::value::Value;
use crate::fetch;
use crate::flakeref::{Attr, Attrs, FlakeRef, Input, ParseOptions};
use crate::hash::{Algo, Hash};
use crate::registry::Registry;
use crate::registry::resolve::{self, Mode};
use crate::store::Store as _;
use crate::store::ca::{ContentAddress, Method};
use crate::store::path::References;
use crate::store::path_info::PathInfo;

/// Fetches `input` into the session's store (Nix's `fetchTree` after its checks): indirect
/// inputs are resolved through the registries first unless `pure`; `is_final` for lock-file
/// inputs, whose tree is used as it is when its store path is valid.
pub fn fetch_tree(
    session: &Session<'_>,
    flag: &Registry,
    input: &Input,
    is_final: bool,
    pure: bool,
) -> anyhow::Result<FetchedTree> {
    let mut input = input.clone();
    if !pure && !input.is_direct() {
        let mut regs = session.registries(flag.clone());
        let r = FlakeRef {
            input,
            subdir: String::new(),
        };
        input = resolve::resolve(&r, Mode::Limited, &mut regs)?.input;
    }
    if is_final {
        input = input.make_final();
    }
    let env = session.fetch_env()?;
    let (path, locked) = fetch::fetch_to_store(&env, &input)?;
    session.publish(&BTreeSet::from([path.clone()]))?;
    Ok(FetchedTree {
        path: env.store.store_dir().print(&path),
        input: locked.without_final(),
    })
}

/// Locks a flake without writing its lock file and calls its outputs (`builtins.getFlake`):
/// the flake's value and its tree's store path.
pub fn get_flake(
    session: &Session<'_>,
    flag: &Registry,
    flake_ref: &str,
    is_path: bool,
) -> anyhow::Result<(Value, String)> {
    let top = if is_path {
        let mut attrs = Attrs::new();
        attrs.insert("type".into(), Attr::Str("path".into()));
        attrs.insert("path".into(), Attr::Str(flake_ref.to_owned()));
        FlakeRef::from_attrs(attrs, session.reporter())?
    } else {
        crate::flakeref::parse(flake_ref, &ParseOptions::default(), session.reporter())?
    };
    let flags = Flags {
        update_lock_file: false,
        write_lock_file: false,
        ..Flags::default()
    };
    let locked = session.with_loader(flag.clone(), &[], |loader| {
        lock::lock_flake(loader, &top, &flags)
    })?;
    let (value, path) = call_locked(session, locked)?;
    Ok((value, path))
}

/// The value of a locked flake, and its tree's store path (which evaluation may read).
pub fn call_locked(
    session: &Session<'_>,
    locked: lock::LockedFlake,
) -> anyhow::Result<(Value, String)> {
    let flake = &locked.flake;
    let Some(path) = &flake.store_path else {
        anyhow::bail!(
            "flake '{}' has no tree in the store",
            flake.original.input.to_display()
        );
    };
    let path = session.local_store()?.store_dir().print(path);
    let root = Root {
        tree: FetchedTree {
            path: path.clone(),
            input: flake.locked.input.clone(),
        },
        dir: flake.locked.subdir.trim_matches('/').to_owned(),
    };
    Ok((call_flake(locked.lock_file, root), path))
}

/// Downloads a URL for `fetchurl` (a flat fixed-output path) or `fetchTarball` (an unpacked
/// tree): the store path. With a `sha256` whose path is valid already, nothing is downloaded.
pub fn fetch_url(session: &Session<'_>, req: &UrlFetch<'_>) -> anyhow::Result<String> {
    let store = session.local_store()?;
    let dir = store.store_dir();
    if let Some(h) = req.sha256 {
        let expected =
            dir.make_fixed_output_path(req.unpack, h, req.name, &References::default())?;
        if store.is_valid_path(&expected)? {
            return Ok(dir.print(&expected));
        }
    }
    let mut attrs = Attrs::new();
    let ty = if req.unpack { "tarball" } else { "file" };
    attrs.insert("type".into(), Attr::Str(ty.into()));
    attrs.insert("url".into(), Attr::Str(req.url.to_owned()));
    attrs.insert("name".into(), Attr::Str(req.name.to_owned()));
    if req.unpack
        && let Some(h) = req.sha256
    {
        attrs.insert("narHash".into(), Attr::Str(h.to_sri()));
    }
    let input = Input::from_attrs(attrs, session.reporter())?;
    let env = session.fetch_env()?;
    let (path, _) = fetch::fetch_to_store(&env, &input)?;
    if req.unpack {
        session.publish(&BTreeSet::from([path.clone()]))?;
        return Ok(dir.print(&path));
    }
    let real = store.real_path(&path);
    let bytes = std::fs::read(&real).with_context(|| format!("reading '{}'", real.display()))?;
    let hash = Hash::digest(Algo::Sha256, &bytes);
    if let Some(h) = req.sha256
        && *h != hash
    {
        anyhow::bail!(
            "hash mismatch in file downloaded from '{}':\n  specified: {}\n  got:       {}",
            req.url,
            h.to_prefixed_nix32(),
            hash.to_prefixed_nix32()
        );
    }
    let flat = dir.make_fixed_output_path(false, &hash, req.name, &References::default())?;
    if !store.is_valid_path(&flat)? {
        let mut nar = Vec::new();
        crate::store::nar::dump(&real, &mut nar)?;
        let info = PathInfo {
            path: flat.clone(),
            nar_hash: Hash::digest(Algo::Sha256, &nar),
            nar_size: nar.len() as u64,
            references: BTreeSet::new(),
            deriver: None,
            registration_time: 0,
            ultimate: true,
            sigs: BTreeSet::new(),
            ca: Some(ContentAddress {
                method: Method::Flat,
                hash,
            }),
        };
        let mut reader: &[u8] = &nar;
        let r: &mut dyn Read = &mut reader;
        store.add_nars(vec![(info, r)], crate::store::CheckSigs::NoCheck)?;
    }
    session.publish(&BTreeSet::from([flat.clone()]))?;
    Ok(dir.print(&flat))
}
