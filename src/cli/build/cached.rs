//! The flake installables of `rflake build` through the evaluation cache (Nix's eval cache,
//! which `nix build` consults through `AttrCursor::forceDerivation`): the flake is locked as
//! always, and when its fingerprint, the system and the installable's fragment are those of
//! an earlier build whose `.drv` is still valid, the attribute is not evaluated again. A
//! cached `.drv` that is no longer valid is evaluated again, errors are never cached, and the
//! cache serves pure evaluation with `eval-cache = true` only, as in Nix (see
//! [`crate::flake::eval_cache`]).

use std::collections::BTreeMap;
use std::rc::Rc;

use super::Built;
use crate::cli::Context;
use crate::cli::args::FlakeArgs;
use crate::eval::Machine;
use crate::eval::machine::Options;
use crate::eval_host::Host;
use crate::eval_trace;
use crate::flake::eval_cache::{self, EvalCache};

/// Evaluates flake installables for one `build`, making the machine only on a cache miss.
pub(super) struct Installables {
    host: Rc<Host>,
    opts: Options,
    m: Option<Machine>,
    /// Where the evaluation cache lives, when it is used.
    cache_home: Option<std::path::PathBuf>,
    /// The caches opened, by fingerprint (saved by [`Installables::finish`]).
    opened: BTreeMap<String, EvalCache>,
    /// Where the cache of file installables lives, when it is used ([`crate::eval_trace`]).
    file_cache_home: Option<std::path::PathBuf>,
}

impl Installables {
    /// Installables evaluated over `host` with `opts`; `pure` as the command's evaluation.
    pub(super) fn new(ctx: &Context, host: Rc<Host>, opts: Options, pure: bool) -> Installables {
        let cache_home = (pure && ctx.settings.eval_cache).then(|| ctx.dirs.cache_home.clone());
        Installables {
            host,
            opts,
            m: None,
            cache_home,
            opened: BTreeMap::new(),
            file_cache_home: ctx.settings.eval_cache.then(|| ctx.dirs.cache_home.clone()),
        }
    }

    /// The machine, made on first use. What it observes is traced from then on, for the
    /// cache of file installables: each one's entry holds everything the machine observed
    /// until its derivation was found (its own evaluation's observations, and perhaps more).
    pub(super) fn machine(&mut self) -> &mut Machine {
        let (host, opts) = (&self.host, &self.opts);
        let tracing = self.file_cache_home.is_some();
        self.m.get_or_insert_with(|| {
            if tracing {
                host.start_trace();
            }
            crate::cli::eval::new_machine(host, opts.clone())
        })
    }

    /// The derivation of a file or expression installable, from the cache of file
    /// installables when it holds one for `key` whose observations still hold and whose
    /// `.drv` is still valid, else evaluated by `eval` (and then cached unless the
    /// evaluation was tainted).
    pub(super) fn file_derivation(
        &mut self,
        key: &str,
        eval: impl FnOnce(&mut Machine) -> crate::eval::R<Built>,
    ) -> crate::eval::R<Built> {
        let Some(home) = self.file_cache_home.clone() else {
            return eval(self.machine());
        };
        if let Some(hit) = eval_trace::get(&home, key)
            && eval_trace::trace_of(&hit).holds(self.host.as_ref())
            && self.host.is_valid(&hit.drv)
        {
            return Ok(Built {
                drv: hit.drv,
                output: hit.output,
            });
        }
        let built = eval(self.machine());
        if let Ok(b) = &built {
            // The trace goes on for the next installable, from what was observed so far.
            if let Some(trace) = self.host.take_trace() {
                eval_trace::put(&home, key, &b.drv, &b.output, &trace);
                self.host.resume_trace(trace);
            }
        }
        built
    }

    /// The evaluation's options.
    pub(super) fn options(&self) -> &Options {
        &self.opts
    }

    /// Gives the machine up (so that the host has no other owner).
    pub(super) fn finish(mut self) -> Rc<Host> {
        self.m = None;
        for c in self.opened.values_mut() {
            c.save();
        }
        self.opened.clear();
        self.host.clone()
    }

    /// Locks the installable's flake and finds the derivation it names: from the evaluation
    /// cache when it holds it, else by evaluating (and then caching) it. An evaluation error
    /// is the inner result.
    pub(super) fn derivation(
        &mut self,
        ctx: &Context,
        installable: &str,
        args: &FlakeArgs,
    ) -> anyhow::Result<crate::eval::R<Built>> {
        let home = crate::cli::env::home();
        let inst = crate::flakeref::installable::parse(
            installable,
            home.as_deref(),
            &ctx.cwd_parse_options(),
            &ctx.printer,
        )?;
        let (locked, _) =
            crate::cli::eval_flake::lock_only(ctx, &self.host, &inst.flake_ref, args)?;
        let key = format!(
            "build\0{}\0{}\0{:?}",
            self.opts.system, inst.attr_path, inst.outputs
        );
        let fp = self
            .cache_home
            .as_ref()
            .and_then(|_| crate::cli::eval_flake::cache_fingerprint(ctx, &self.host, &locked));
        if let (Some(home), Some(fp)) = (&self.cache_home, &fp) {
            self.opened
                .entry(fp.clone())
                .or_insert_with(|| EvalCache::open(home, fp));
        }
        if let Some(c) = fp.as_ref().and_then(|fp| self.opened.get(fp))
            && let Some(hit) = c.get(&key)
            && let Some(output) = hit.outputs.as_ref().and_then(|o| o.first())
            && crate::cli::profile_upgrade_eval::drv_is_valid(&self.host, &hit.drv)
        {
            return Ok(Ok(Built {
                drv: hit.drv.clone(),
                output: output.clone(),
            }));
        }
        let root = crate::cli::eval_flake::call(&self.host, locked)?;
        let system = self.opts.system.clone();
        let m = self.machine();
        let built = crate::cli::eval_flake::find(m, root, &inst, &system)
            .and_then(|v| super::derivation_of(m, &v, installable));
        if let (Ok(b), Some(c)) = (&built, fp.and_then(|fp| self.opened.get_mut(&fp))) {
            let entry = eval_cache::Entry {
                drv: b.drv.clone(),
                outputs: Some(vec![b.output.clone()]),
            };
            c.put(key, entry);
        }
        Ok(built)
    }
}
