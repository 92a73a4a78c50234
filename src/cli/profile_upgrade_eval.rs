//! What `profile upgrade` evaluates for one element (Nix's `InstallableFlake` with an exact
//! attribute path and `toDerivedPaths`; spec U4–U6): its flake re-resolved and locked, the
//! value at exactly its `attrPath`, and the derivation outputs it installs. Each distinct
//! source flake is locked and its outputs called once, however many elements came from it
//! (Nix does this once per element). What an element evaluated to is kept in the evaluation
//! cache ([`crate::flake::eval_cache`], as Nix's eval cache keeps it): an element of a flake
//! locked to the same fingerprint as before is not evaluated again, and a flake none of whose
//! elements needs evaluating is never called.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::rc::Rc;

use super::Context;
use super::profile::UpgradeArgs;
use crate::build::goal;
use crate::eval::error::{R, err};
use crate::eval::machine::Options;
use crate::eval::symbol::Symbol;
use crate::eval::{Machine, Value};
use crate::eval_host::Host;
use crate::flake::eval_cache::{self, EvalCache};
use crate::flake::lock::LockedFlake;
use crate::flakeref::FlakeRef;
use crate::profile::manifest::{Outputs, Source};

/// The derivation outputs an element's attribute evaluated to.
#[derive(Debug, Clone)]
pub struct Derived {
    /// The `.drv` path, as printed.
    pub drv: String,
    /// The outputs the element installs (spec U6).
    pub outputs: goal::Outputs,
}

/// A source flake, locked.
struct Locked {
    /// Its locked reference.
    locked: FlakeRef,
    /// The locked flake, until its outputs are called.
    pending: Option<LockedFlake>,
    /// Its outputs, once called.
    value: Option<Value>,
    /// What its attributes evaluated to before (pure evaluation with `eval-cache` only).
    cache: Option<EvalCache>,
    /// Which of the cached `.drv` paths of the elements to upgrade are valid in the store,
    /// asked all at once when the cache is opened.
    valid: HashSet<String>,
}

/// The evaluator of one `profile upgrade`, with the flakes it has locked so far.
pub struct Evaluator {
    /// The machine, made when the first attribute is evaluated (not when every element is
    /// found in the evaluation cache).
    m: Option<Machine>,
    /// The options it is made with.
    opts: Options,
    host: Rc<Host>,
    colours: bool,
    /// Locked flakes by the `originalUrl` they were resolved from.
    flakes: HashMap<String, Locked>,
    /// Where the evaluation cache lives, when it is used.
    cache_home: Option<std::path::PathBuf>,
    /// The `nixConfig` settings the flakes locked so far were allowed to set, in order.
    pub taken: Vec<(String, String)>,
    /// The evaluation cache keys of the elements to upgrade, by `originalUrl`.
    expected: HashMap<String, Vec<String>>,
}

impl Evaluator {
    /// Sets up the evaluator as `rflake eval` does for a flake installable, for the elements
    /// of `sources` (every element [`Evaluator::element`] will be asked for).
    pub fn new<'s>(
        ctx: &Context,
        a: &UpgradeArgs,
        sources: impl IntoIterator<Item = &'s Source>,
    ) -> anyhow::Result<Evaluator> {
        // Flakes are evaluated purely unless `--impure` (spec U7).
        let pure = !a.eval.impure;
        let (host, opts, colours) = super::eval::host(ctx, &a.eval, &a.flake, pure, false)?;
        // As in Nix, the cache serves pure evaluation only.
        let cache_home = (pure && ctx.settings.eval_cache).then(|| ctx.dirs.cache_home.clone());
        let mut expected: HashMap<String, Vec<String>> = HashMap::new();
        for source in sources {
            let keys = expected
                .entry(source.original_url().to_owned())
                .or_default();
            keys.push(cache_key(source));
        }
        Ok(Evaluator {
            m: None,
            opts,
            host,
            colours,
            flakes: HashMap::new(),
            cache_home,
            taken: Vec::new(),
            expected,
        })
    }

    /// Locks the flake `source` was added from (once per `originalUrl`) and evaluates exactly
    /// its attribute path (or finds it in the evaluation cache): the new locked reference and
    /// the derivation outputs. An evaluation error is the inner result.
    pub fn element(
        &mut self,
        ctx: &Context,
        a: &UpgradeArgs,
        source: &Source,
    ) -> anyhow::Result<R<(FlakeRef, Derived)>> {
        let key = source.original_url().to_owned();
        if !self.flakes.contains_key(&key) {
            let (locked, taken) =
                super::eval_flake::lock_only(ctx, &self.host, source.original(), &a.flake)?;
            self.taken.extend(taken);
            let cache = self.cache_home.as_ref().and_then(|home| {
                super::eval_flake::cache_fingerprint(ctx, &self.host, &locked)
                    .map(|fp| EvalCache::open(home, &fp))
            });
            let keys = self
                .expected
                .get(&key)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let valid = cache
                .as_ref()
                .map(|c| valid_drvs(&self.host, c, keys))
                .unwrap_or_default();
            let entry = Locked {
                locked: locked.flake.locked.clone(),
                pending: Some(locked),
                value: None,
                cache,
                valid,
            };
            self.flakes.insert(key.clone(), entry);
        }
        let Some(flake) = self.flakes.get_mut(&key) else {
            anyhow::bail!("internal error: flake '{key}' was not locked");
        };
        let cache_key = cache_key(source);
        if let Some(hit) = flake.cache.as_ref().and_then(|c| c.get(&cache_key))
            && (flake.valid.contains(&hit.drv) || drv_is_valid(&self.host, &hit.drv))
        {
            let outputs = match &hit.outputs {
                None => goal::Outputs::All,
                Some(names) => goal::Outputs::Names(names.iter().cloned().collect()),
            };
            let derived = Derived {
                drv: hit.drv.clone(),
                outputs,
            };
            return Ok(Ok((flake.locked.clone(), derived)));
        }
        let root = match (&flake.value, flake.pending.take()) {
            (Some(v), _) => v.clone(),
            (None, Some(locked)) => {
                let v = super::eval_flake::call(&self.host, locked)?;
                flake.value = Some(v.clone());
                v
            }
            (None, None) => anyhow::bail!("internal error: flake '{key}' was not called"),
        };
        let (host, opts) = (&self.host, &self.opts);
        let m = self
            .m
            .get_or_insert_with(|| super::eval::new_machine(host, opts.clone()));
        let derived = lookup(m, &root, source).and_then(|v| derived(m, &v, source));
        if let (Ok(d), Some(cache)) = (&derived, flake.cache.as_mut()) {
            let outputs = match &d.outputs {
                goal::Outputs::All => None,
                goal::Outputs::Names(names) => Some(names.iter().cloned().collect()),
            };
            let entry = eval_cache::Entry {
                drv: d.drv.clone(),
                outputs,
            };
            cache.put(cache_key, entry);
        }
        Ok(derived.map(|d| (flake.locked.clone(), d)))
    }

    /// Renders an evaluation error as `rflake eval` does.
    pub fn render(&self, e: &crate::eval::error::EvalError) -> String {
        crate::util::ansi::filter_escapes(&e.render(self.opts.show_trace), self.colours)
    }
}

impl Drop for Evaluator {
    /// Keeps what was evaluated for the next run (best effort).
    fn drop(&mut self) {
        for flake in self.flakes.values_mut() {
            if let Some(cache) = flake.cache.as_mut() {
                cache.save();
            }
        }
    }
}

/// The evaluation cache's key of an element: its attribute path and the outputs it names.
fn cache_key(source: &Source) -> String {
    let outputs = match &source.outputs {
        Outputs::Default => "default".to_owned(),
        Outputs::All => "*".to_owned(),
        Outputs::Names(names) => names.iter().cloned().collect::<Vec<_>>().join(","),
    };
    format!("{}\0{outputs}", source.attr_path)
}

/// Which of the `.drv` paths `cache` holds for `keys` are valid in the store evaluation writes
/// to, in one query (none if it cannot be asked: each is then asked on its own).
fn valid_drvs(host: &Host, cache: &EvalCache, keys: &[String]) -> HashSet<String> {
    let Some(store) = host.flakes().and_then(|f| f.session.local_store().ok()) else {
        return HashSet::new();
    };
    let dir = crate::store::Store::store_dir(store);
    let drvs: BTreeSet<_> = keys
        .iter()
        .filter_map(|k| cache.get(k))
        .filter_map(|e| dir.parse(&e.drv).ok())
        .collect();
    match store.valid_paths(&drvs) {
        Ok(valid) => valid.iter().map(|p| dir.print(p)).collect(),
        Err(_) => HashSet::new(),
    }
}

/// Whether the `.drv` path `drv` is valid in the store evaluation writes to (a cached
/// derivation whose file is gone is evaluated again, as in Nix).
pub(super) fn drv_is_valid(host: &Host, drv: &str) -> bool {
    let Some(flakes) = host.flakes() else {
        return false;
    };
    let Ok(store) = flakes.session.local_store() else {
        return false;
    };
    crate::store::Store::store_dir(store)
        .parse(drv)
        .is_ok_and(|p| store.is_valid_path(&p).unwrap_or(false))
}

/// The value at exactly the element's attribute path (spec U5: no search order).
fn lookup(m: &mut Machine, root: &Value, source: &Source) -> R<Value> {
    match super::eval_flake::follow(m, root, &source.attr_path)? {
        Some(v) => Ok(v),
        None => err(format!(
            "flake '{}' does not provide attribute '{}'",
            source.original_url(),
            source.attr_path
        )),
    }
}

/// The derivation and outputs of an element's value (spec U5, U6).
fn derived(m: &mut Machine, v: &Value, source: &Source) -> R<Derived> {
    let v = m.force(v)?;
    let not_a_derivation = |v: &Value| {
        err(format!(
            "expected flake output attribute '{}' to be a derivation or path but found {}: {}",
            source.attr_path,
            v.show_type(),
            crate::eval::print::brief(v)
        ))
    };
    let Value::Attrs(attrs) = &v else {
        return not_a_derivation(&v);
    };
    if string_attr(m, &v, "type")?.as_deref() != Some("derivation") {
        return not_a_derivation(&v);
    }
    let Some(drv) = string_attr(m, &v, "drvPath")? else {
        return err("derivation does not have attribute 'drvPath'");
    };
    let outputs = match &source.outputs {
        Outputs::All => goal::Outputs::All,
        Outputs::Names(names) => goal::Outputs::Names(names.clone()),
        Outputs::Default => {
            let mut names = BTreeSet::new();
            if let Some(specified) = attrs.get(Symbol::intern("outputSpecified")) {
                // Nix: an explicitly selected output (`pkg.dev`) is the one installed, else
                // `out`; `meta` is not consulted then.
                let specified = m.bool_value(&specified.value.clone())?;
                match string_attr(m, &v, "outputName")? {
                    Some(name) if specified => names.insert(name),
                    _ => names.insert("out".to_owned()),
                };
            } else if let Some(list) = outputs_to_install(m, &v)? {
                for item in list.iter() {
                    let s = m.str_of(item)?;
                    names.insert(String::from_utf8_lossy(&s.s).into_owned());
                }
            } else {
                names.insert("out".to_owned());
            }
            goal::Outputs::Names(names)
        }
    };
    Ok(Derived { drv, outputs })
}

/// `meta.outputsToInstall`, when the value has it.
fn outputs_to_install(m: &mut Machine, v: &Value) -> R<Option<Rc<Vec<Value>>>> {
    let attrs = m.attrs_of(v)?;
    let Some(meta) = attrs.get(Symbol::intern("meta")) else {
        return Ok(None);
    };
    let meta = m.attrs_of(&meta.value.clone())?;
    match meta.get(Symbol::intern("outputsToInstall")) {
        Some(list) => Ok(Some(m.list_of(&list.value.clone())?)),
        None => Ok(None),
    }
}

/// The attribute `name` of the set `v` coerced to a string, if present.
fn string_attr(m: &mut Machine, v: &Value, name: &str) -> R<Option<String>> {
    let attrs = m.attrs_of(v)?;
    match attrs.get(Symbol::intern(name)) {
        None => Ok(None),
        Some(a) => {
            let x = m.force(&a.value.clone())?;
            let mut c = crate::eval::context::Context::default();
            let s = m.coerce_to_string(&x, &mut c, false, false)?;
            Ok(Some(String::from_utf8_lossy(&s).into_owned()))
        }
    }
}
