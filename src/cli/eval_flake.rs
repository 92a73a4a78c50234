//! The flake installable of `rflake eval` (Nix's `InstallableFlake`, `installable-flake.cc`):
//! lock the flake (applying its `nixConfig` first, as `getLockedFlake` does), call its outputs
//! and find the attribute: for a fragment `a.b`, `packages.<system>.a.b`, then
//! `legacyPackages.<system>.a.b`, then `a.b` itself; a fragment starting with `.` is taken as
//! it is; without a fragment, `packages.<system>.default`, then `defaultPackage.<system>`.

use super::Context;
use super::args::FlakeArgs;
use crate::eval::error::{R, err};
use crate::eval::symbol::Symbol;
use crate::eval::{Machine, Value};
use crate::eval_host::Host;
use crate::flakeref::FlakeRef;
use crate::flakeref::installable::Installable;
use crate::report::Reporter as _;

/// Locks and calls the installable's flake and selects its attribute (the evaluation result,
/// or the evaluation error, is the inner result).
pub fn select(
    ctx: &Context,
    host: &Host,
    m: &mut Machine,
    installable: &str,
    args: &FlakeArgs,
) -> anyhow::Result<R<Value>> {
    let home = super::env::home();
    let inst = crate::flakeref::installable::parse(
        installable,
        home.as_deref(),
        &ctx.cwd_parse_options(),
        &ctx.printer,
    )?;
    let (value, _, _) = lock_and_call(ctx, host, &inst.flake_ref, args)?;
    let system = m.opts.system.clone();
    Ok(find(m, value, &inst, &system))
}

/// The `nixConfig` settings a flake was allowed to set, `(name, value)` in order.
pub type Taken = Vec<(String, String)>;

/// Locks the flake `top` (applying its `nixConfig` first, as `getLockedFlake` does) and calls
/// its outputs: the flake's value, its locked reference and the `nixConfig` settings taken
/// (`(name, value)`, for the caller to apply). The host may then read its tree.
pub fn lock_and_call(
    ctx: &Context,
    host: &Host,
    top: &FlakeRef,
    args: &FlakeArgs,
) -> anyhow::Result<(Value, FlakeRef, Taken)> {
    let (locked, taken) = lock_only(ctx, host, top, args)?;
    let locked_ref = locked.flake.locked.clone();
    let value = call(host, locked)?;
    Ok((value, locked_ref, taken))
}

/// Locks the flake `top` (applying its `nixConfig` first, as `getLockedFlake` does): the
/// locked flake and the `nixConfig` settings taken.
pub fn lock_only(
    ctx: &Context,
    host: &Host,
    top: &FlakeRef,
    args: &FlakeArgs,
) -> anyhow::Result<(crate::flake::lock::LockedFlake, Taken)> {
    let flags = super::lock_args::flags(ctx, args)?;
    if args.no_registries {
        ctx.printer
            .warn("'--no-registries' is deprecated; use '--no-use-registries'");
    }
    let inputs_from = args
        .inputs_from
        .iter()
        .map(|from| crate::flakeref::parse(from, &ctx.cwd_parse_options(), &ctx.printer))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(flakes) = host.flakes() else {
        anyhow::bail!("internal error: the evaluator cannot fetch");
    };
    let session = &flakes.session;
    let mut taken = Vec::new();
    let locked = session.with_loader(flakes.flag_registry.clone(), &inputs_from, |loader| {
        let flake = loader.get_flake(top, loader.mode(true), &Vec::new())?;
        taken = crate::flake::config::apply(
            &flake.decl.nix_config,
            ctx.settings.accept_flake_config,
            &ctx.dirs.data_home,
            &ctx.printer,
        );
        crate::flake::lock::lock_read_flake(loader, top, &flags, flake)
    })?;
    Ok((locked, taken))
}

/// Calls the outputs of the locked flake `locked`: its value. The host may then read its tree.
pub fn call(host: &Host, locked: crate::flake::lock::LockedFlake) -> anyhow::Result<Value> {
    let Some(flakes) = host.flakes() else {
        anyhow::bail!("internal error: the evaluator cannot fetch");
    };
    let (value, path) = crate::flake::builtins::call_locked(&flakes.session, locked)?;
    host.allow(&path);
    Ok(value)
}

/// The evaluation cache's fingerprint of a locked flake ([`crate::flake::eval_cache`]): its
/// source tree, subdirectory and lock file, and what else evaluation depends on (the store
/// directory, the settings given, rflake's version). `None` for a flake without a tree in
/// the store.
pub fn cache_fingerprint(
    ctx: &Context,
    host: &Host,
    locked: &crate::flake::lock::LockedFlake,
) -> Option<String> {
    let tree = locked.flake.store_path.as_ref()?;
    let store_dir = crate::eval::io::Io::store_dir(host);
    let mut context = vec![store_dir.to_owned(), env!("CARGO_PKG_VERSION").to_owned()];
    context.extend(
        ctx.settings
            .daemon
            .overrides
            .iter()
            .map(|(n, v)| format!("{n}={v}")),
    );
    let context: Vec<&str> = context.iter().map(String::as_str).collect();
    Some(crate::flake::eval_cache::fingerprint(
        &crate::store::StoreDir::new(store_dir).print(tree),
        &locked.flake.locked.subdir,
        &locked.lock_file.to_text(),
        &context,
    ))
}

/// The attribute paths tried for an installable, in order.
pub fn attr_paths(fragment: &str, system: &str) -> Vec<String> {
    if let Some(exact) = fragment.strip_prefix('.') {
        return vec![exact.to_owned()];
    }
    if fragment.is_empty() {
        return vec![
            format!("packages.{system}.default"),
            format!("defaultPackage.{system}"),
        ];
    }
    vec![
        format!("packages.{system}.{fragment}"),
        format!("legacyPackages.{system}.{fragment}"),
        fragment.to_owned(),
    ]
}

/// Nix's `showAttrPaths`: `'a'`, `'a' or 'b'`, `'a', 'b' or 'c'`.
fn show_attr_paths(paths: &[String]) -> String {
    let mut s = String::new();
    for (i, p) in paths.iter().enumerate() {
        if i > 0 {
            s.push_str(if i + 1 == paths.len() { " or " } else { ", " });
        }
        s.push('\'');
        s.push_str(p);
        s.push('\'');
    }
    s
}

/// The value an installable names in its flake's outputs `root`, trying [`attr_paths`] in
/// order.
pub fn find(m: &mut Machine, root: Value, inst: &Installable, system: &str) -> R<Value> {
    let paths = attr_paths(&inst.attr_path, system);
    for path in &paths {
        if let Some(v) = follow(m, &root, path)? {
            return Ok(v);
        }
    }
    let shown = inst
        .flake_ref
        .to_url_string()
        .unwrap_or_else(|_| inst.flake_ref.input.to_display());
    err(format!(
        "flake '{shown}' does not provide attribute {}",
        show_attr_paths(&paths)
    ))
}

/// The value at `path` below `root`, or `None` when an attribute is missing or a value on
/// the way is not a set.
pub fn follow(m: &mut Machine, root: &Value, path: &str) -> R<Option<Value>> {
    let mut v = m.force(root)?;
    if path.is_empty() {
        return Ok(Some(v));
    }
    for part in super::eval::split_attr_path(path) {
        let Value::Attrs(set) = &v else {
            return Ok(None);
        };
        let Some(a) = set.get(Symbol::intern(&part)) else {
            return Ok(None);
        };
        let next = a.value.clone();
        v = m.force(&next)?;
    }
    Ok(Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_attribute_search() {
        assert_eq!(
            attr_paths("hello", "x86_64-linux"),
            [
                "packages.x86_64-linux.hello",
                "legacyPackages.x86_64-linux.hello",
                "hello"
            ]
        );
        assert_eq!(attr_paths(".a.b", "s"), ["a.b"]);
        assert_eq!(
            attr_paths("", "s"),
            ["packages.s.default", "defaultPackage.s"]
        );
        assert_eq!(
            show_attr_paths(&attr_paths("x", "s")),
            "'packages.s.x', 'legacyPackages.s.x' or 'x'"
        );
    }
}
