//! `rflake build` (Nix's `src/nix/build.cc`): evaluate installables to derivations (store
//! paths given directly are realised as they are), realise their outputs ([`crate::build`]:
//! substituted from the `substituters` when they have them, see [`super::build_subst`],
//! otherwise built), then make `result` symlinks registered as GC roots, and print the
//! outputs (`--print-out-paths`, `--json`). `--dry-run` lists what would be built and fetched.

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;

use clap::Args;

mod builders;
mod cached;
mod remote;

use super::Context;
use super::args::EvalArgs;
use crate::build::goal::{self, Outputs, Wanted};
use crate::build::{Error as BuildError, Events};
use crate::eval::symbol::Symbol;
use crate::eval::{Machine, Value};
use crate::report::Reporter as _;
use crate::store::{Store as _, StorePath};

/// Arguments of `build`.
#[derive(Args, Debug)]
#[command(about = "Build a derivation or fetch a store path", long_about = None)]
pub struct BuildCmd {
    /// The installables (flake references with attribute paths, or attribute paths with
    /// `--file`/`--expr`)
    #[arg(value_name = "INSTALLABLES")]
    installables: Vec<String>,
    /// Interpret installables as attribute paths relative to the Nix expression EXPR
    #[arg(
        long,
        value_name = "EXPR",
        help_heading = "Options that change the interpretation of installables"
    )]
    expr: Option<String>,
    /// Interpret installables as attribute paths relative to the Nix expression stored in FILE
    #[arg(
        short = 'f',
        long,
        value_name = "FILE",
        help_heading = "Options that change the interpretation of installables"
    )]
    file: Option<String>,
    /// Do not create symlinks to the build results
    #[arg(long)]
    no_link: bool,
    /// Use PATH as prefix for the symlinks to the build results. It defaults to `result`
    #[arg(short = 'o', long, value_name = "PATH")]
    out_link: Option<String>,
    /// Print the resulting output paths
    #[arg(long)]
    print_out_paths: bool,
    /// Show what this command would do without doing it
    #[arg(long)]
    dry_run: bool,
    /// Produce output in JSON format, suitable for consumption by another program
    #[arg(long)]
    json: bool,
    /// Rebuild an already built package and compare the result to the existing store paths
    #[arg(long)]
    rebuild: bool,
    /// The maximum number of parallel builds (the `max-jobs` setting)
    #[arg(short = 'j', value_name = "N")]
    jobs: Option<String>,
    #[command(flatten)]
    eval: EvalArgs,
    #[command(flatten)]
    flake: super::args::FlakeArgs,
}

/// A derivation an installable evaluated to.
struct Built {
    drv: String,
    output: String,
}

/// Prints a realisation's progress: on a terminal as Nix's progress bar (a status line
/// `[running/done/expected built] building NAME: last log line`, no `building` lines), else as
/// Nix's plain logger (`building '…'...` lines).
struct Printing<'a> {
    printer: &'a super::output::Printer,
    logs: bool,
    bar: Option<std::sync::Mutex<Bar>>,
}

/// What the status line counts.
#[derive(Default)]
struct Bar {
    expected: usize,
    done: usize,
    failed: usize,
    /// Running builds' names, oldest first, with their last log line.
    running: Vec<(String, String)>,
}

impl Bar {
    fn render(&self) -> String {
        let running = self.running.len();
        let mut counts = if running > 0 {
            format!("{running}/{}/{} built", self.done, self.expected)
        } else if self.done != self.expected {
            format!("{}/{} built", self.done, self.expected)
        } else {
            format!("{} built", self.done)
        };
        if self.failed > 0 {
            counts.push_str(&format!(" ({} failed)", self.failed));
        }
        let mut line = format!("[{counts}]");
        if let Some((name, last)) = self.running.last() {
            line.push_str(&format!(" building {name}"));
            if !last.is_empty() {
                line.push_str(&format!(": {last}"));
            }
        }
        line
    }
}

impl<'a> Printing<'a> {
    fn new(printer: &'a super::output::Printer, logs: bool, expected: usize) -> Printing<'a> {
        let bar = printer.draws_progress().then(|| {
            std::sync::Mutex::new(Bar {
                expected,
                ..Bar::default()
            })
        });
        Printing { printer, logs, bar }
    }

    /// Updates the status line with `f`; false when there is none.
    fn update(&self, f: impl FnOnce(&mut Bar)) -> bool {
        let Some(bar) = &self.bar else {
            return false;
        };
        let mut b = bar.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut b);
        self.printer.status(Some(&b.render()));
        true
    }

    /// A derivation's name as the status line shows it.
    fn name(drv: &str) -> String {
        let base = drv.rsplit('/').next().unwrap_or(drv);
        let name = base.get(33..).unwrap_or(base);
        name.strip_suffix(".drv").unwrap_or(name).to_owned()
    }
}

impl Drop for Printing<'_> {
    fn drop(&mut self) {
        if self.bar.is_some() {
            self.printer.status(None);
        }
    }
}

impl Events for Printing<'_> {
    fn building(&self, drv: &str) {
        let name = Self::name(drv);
        if !self.update(|b| b.running.push((name, String::new()))) {
            self.printer.notice(&format!("building '{drv}'..."));
        }
    }
    fn log_line(&self, name: &str, line: &str) {
        if self.logs {
            // Named as Nix's logger names a build: without the version.
            let name = crate::store::daemon::stderr::name_without_version(name);
            self.printer.notice(&format!("{name}> {line}"));
        }
        self.update(|b| {
            if let Some(r) = b.running.iter_mut().rev().find(|r| r.0 == name) {
                r.1 = line.trim().to_owned();
            }
        });
    }
    fn error(&self, msg: &str) {
        let rendered = format!("error: {}", super::error::indent(msg));
        self.printer.error(&rendered, msg, None);
    }
    fn note(&self, msg: &str) {
        self.printer.notice(&format!("note: {msg}"));
    }
    fn checking(&self, drv: &str) {
        let name = Self::name(drv);
        if !self.update(|b| b.running.push((name, String::new()))) {
            self.printer
                .notice(&format!("checking outputs of '{drv}'..."));
        }
    }
    fn finished(&self, drv: &str, ok: bool) {
        let name = Self::name(drv);
        self.update(|b| {
            if let Some(i) = b.running.iter().position(|r| r.0 == name) {
                b.running.remove(i);
            }
            if ok {
                b.done += 1;
            } else {
                b.failed += 1;
            }
        });
    }
    fn info(&self, msg: &str) {
        self.printer.notice(msg);
    }
}

/// How an evaluation builds the outputs it reads (import from derivation): as `build` does,
/// with the same settings and progress lines.
pub(super) fn ifd_realiser(ctx: &Context) -> anyhow::Result<crate::eval_host::Realiser> {
    let settings = build_settings(ctx, None)?;
    let printer = ctx.printer.clone();
    let logs = ctx.global.print_build_logs;
    Ok(Box::new(move |store, wanted| {
        let plan = goal::plan(store, wanted).map_err(|e| e.to_string())?;
        let local = goal::LocalRealiser {
            store,
            settings: &settings,
        };
        realise_with(&printer, logs, store, &plan, wanted, &settings, &local)
            .map_err(|e| e.to_string())
    }))
}

/// Runs `build`.
pub fn run(a: BuildCmd, ctx: &Context) -> anyhow::Result<ExitCode> {
    let flake_mode = a.expr.is_none() && a.file.is_none();
    if flake_mode && (!a.eval.arg.is_empty() || !a.eval.argstr.is_empty()) {
        anyhow::bail!("'--arg' and '--argstr' are incompatible with flakes");
    }
    // Pure unless `--impure` or `--file`, as `eval`.
    let pure = a.file.is_none() && !a.eval.impure;
    let (host, opts, colours) = super::eval::host(ctx, &a.eval, &a.flake, pure, false)?;
    let show_trace = opts.show_trace;
    let mut evaluator = cached::Installables::new(ctx, host, opts, pure);
    let cwd = ctx.cwd.to_string_lossy().into_owned();
    let installables = if a.installables.is_empty() {
        vec![if flake_mode { "." } else { "" }.to_owned()]
    } else {
        a.installables.clone()
    };
    let mut built_all = Vec::new();
    // Store paths given directly are realised as they are (Nix's opaque installables).
    let store_prefix = crate::store::open::local_options(&ctx.store_uri(None))
        .map(|o| format!("{}/", o.store_dir))
        .unwrap_or_else(|| "/nix/store/".to_owned());
    let mut opaque_args = Vec::new();
    for inst in &installables {
        if flake_mode && inst.starts_with(&store_prefix) {
            opaque_args.push(inst.clone());
            continue;
        }
        let built = if flake_mode {
            evaluator.derivation(ctx, inst, &a.flake)?
        } else {
            let key = file_key(&a, inst, &cwd, evaluator.options());
            evaluator.file_derivation(&key, |m| {
                super::eval::select(
                    m,
                    a.expr.as_deref(),
                    a.file.as_deref(),
                    Some(inst.clone()),
                    &a.eval,
                    &cwd,
                )
                .and_then(|v| derivation_of(m, &v, inst))
            })
        };
        match built {
            Ok(b) => built_all.push(b),
            Err(e) => {
                let rendered = crate::util::ansi::filter_escapes(&e.render(show_trace), colours);
                ctx.printer.error(&rendered, &e.msg, None);
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    let host = evaluator.finish();
    // The store the evaluation wrote the derivations to, else a new connection.
    let host_store = std::rc::Rc::try_unwrap(host)
        .ok()
        .and_then(|h| h.into_store());
    let uri = ctx.store_uri(None);
    if crate::flake::session::is_remote(&uri) {
        // The derivations are in the staging store; the daemon builds.
        let staging = crate::flake::session::staging_uri(&ctx.dirs.cache_home);
        let dir = crate::store::open::local_options(&staging)
            .map(|o| o.store_dir)
            .unwrap_or_default();
        let wanted = goals_of(&dir, built_all)?;
        return remote::run(&a, ctx, &uri, &wanted);
    }
    let store = match host_store {
        Some(store) => store,
        None => {
            let cfg = crate::store::open::OpenConfig::new(&ctx.store_settings(), ctx.http.clone())?;
            crate::store::open::open_local(&uri, &cfg)?
        }
    };
    let wanted = goals_of(store.store_dir(), built_all)?;
    // `--rebuild` builds the wanted derivations again (their inputs only if missing).
    let check: BTreeSet<StorePath> = if a.rebuild {
        wanted.iter().map(|w| w.drv.clone()).collect()
    } else {
        BTreeSet::new()
    };
    let mut opaque = Vec::new();
    for s in &opaque_args {
        let p = store.store_dir().parse(s)?;
        if !opaque.contains(&p) {
            opaque.push(p);
        }
    }
    let opaque_set: BTreeSet<StorePath> = opaque.iter().cloned().collect();
    let subs = super::build_subst::open(ctx, &store);
    let plan = super::build_subst::plan(&store, &wanted, &check, &subs)?;
    let dir = store.store_dir().clone();
    if a.dry_run {
        super::build_subst::print_missing(ctx, &plan, &subs, &opaque_set);
        return Ok(ExitCode::SUCCESS);
    }
    super::build_subst::check_opaque(&store, &subs, &opaque_set)?;
    let plan = super::build_subst::fetch(&store, &wanted, &check, &subs, plan, &opaque_set)?;
    let mut settings = build_settings(ctx, a.jobs.as_deref())?;
    settings.check = check;
    realise(ctx, &store, &plan, &wanted, &settings)?;
    let mut json = Vec::new();
    for (i, w) in wanted.iter().enumerate() {
        let node = &plan.nodes[&w.drv];
        let names: Vec<&String> = match &w.outputs {
            Outputs::Names(n) => n.iter().collect(),
            Outputs::All => node.drv.outputs.keys().collect(),
        };
        let mut outputs = serde_json::Map::new();
        for name in names {
            let path = node.drv.outputs[name]
                .path()
                .ok_or_else(|| anyhow::anyhow!("output '{name}' has no known path"))?;
            if !a.no_link {
                let mut link = a.out_link.clone().unwrap_or_else(|| "result".to_owned());
                if i > 0 {
                    link.push_str(&format!("-{i}"));
                }
                if name != "out" {
                    link.push_str(&format!("-{name}"));
                }
                store.add_perm_root(path, &ctx.cwd.join(link))?;
            }
            if a.print_out_paths {
                ctx.printer.out_line(&dir.print(path))?;
            }
            outputs.insert(name.clone(), dir.print(path).into());
        }
        let mut entry = serde_json::Map::new();
        entry.insert("drvPath".to_owned(), dir.print(&w.drv).into());
        entry.insert("outputs".to_owned(), outputs.into());
        json.push(serde_json::Value::Object(entry));
    }
    for (i, path) in opaque.iter().enumerate() {
        let i = i + wanted.len();
        if !a.no_link {
            let mut link = a.out_link.clone().unwrap_or_else(|| "result".to_owned());
            if i > 0 {
                link.push_str(&format!("-{i}"));
            }
            store.add_perm_root(path, &ctx.cwd.join(link))?;
        }
        if a.print_out_paths {
            ctx.printer.out_line(&dir.print(path))?;
        }
        let mut entry = serde_json::Map::new();
        entry.insert("path".to_owned(), dir.print(path).into());
        json.push(serde_json::Value::Object(entry));
    }
    if a.json {
        ctx.printer
            .out_line(&serde_json::Value::Array(json).to_string())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// As Nix 2.8: one goal per derivation (the outputs its installables want, merged), in the
/// order of its goals (derivation name, then path); results and links follow that order.
/// What a file or expression installable's evaluation depends on besides what it observes
/// ([`crate::eval_trace`]): the expression or file as given, the installable, the directory
/// it is relative to, the evaluation's options and flags, and rflake's version.
fn file_key(a: &BuildCmd, inst: &str, cwd: &str, opts: &crate::eval::machine::Options) -> String {
    format!(
        "build\0{}\0{:?}\0{:?}\0{inst}\0{cwd}\0{opts:?}\0{:?}",
        env!("CARGO_PKG_VERSION"),
        a.file,
        a.expr,
        a.eval
    )
}

fn goals_of(dir: &crate::store::StoreDir, built: Vec<Built>) -> anyhow::Result<Vec<Wanted>> {
    let mut goals: BTreeMap<(String, String), (StorePath, BTreeSet<String>)> = BTreeMap::new();
    for b in built {
        let drv = dir.parse(&b.drv)?;
        let key = (drv.name().to_owned(), drv.base_name().to_owned());
        goals
            .entry(key)
            .or_insert_with(|| (drv.clone(), BTreeSet::new()))
            .1
            .insert(b.output);
    }
    Ok(goals
        .into_values()
        .map(|(drv, outputs)| Wanted {
            drv,
            outputs: Outputs::Names(outputs),
        })
        .collect())
}

/// Builds what `plan` needs for `wanted`, printing progress as Nix does; fails with Nix's
/// error for the failed derivations.
pub(super) fn realise(
    ctx: &Context,
    store: &crate::store::local::LocalStore,
    plan: &goal::Plan,
    wanted: &[Wanted],
    settings: &crate::build::Settings,
) -> anyhow::Result<()> {
    let local = goal::LocalRealiser { store, settings };
    // Remote builders, when the `builders` setting names machines.
    let open = builders::opener(ctx)?;
    let remote = builders::config(ctx, settings)?
        .map(|cfg| crate::build::remote::RemoteRealiser::new(cfg, store, &local, &open));
    let realiser: &dyn goal::Realiser = match &remote {
        Some(r) => r,
        None => &local,
    };
    realise_with(
        &ctx.printer,
        ctx.global.print_build_logs,
        store,
        plan,
        wanted,
        settings,
        realiser,
    )
}

/// [`realise`] with `realiser`, printing with `printer` (build logs too when `logs`).
fn realise_with(
    printer: &super::output::Printer,
    logs: bool,
    store: &crate::store::local::LocalStore,
    plan: &goal::Plan,
    wanted: &[Wanted],
    settings: &crate::build::Settings,
    realiser: &dyn goal::Realiser,
) -> anyhow::Result<()> {
    let dir = store.store_dir().clone();
    let events = Printing::new(printer, logs, plan.to_build().len());
    let mut failed = goal::run(plan, realiser, settings, &events);
    let mut top_failed: Vec<(StorePath, Option<BuildError>)> = Vec::new();
    let mut seen = BTreeSet::new();
    for w in wanted {
        if !seen.insert(w.drv.clone()) {
            continue;
        }
        if let Some(e) = failed.remove(&w.drv) {
            top_failed.push((w.drv.clone(), Some(e)));
        } else if !failed.is_empty() && plan.nodes[&w.drv].build && !outputs_valid(store, plan, w) {
            top_failed.push((w.drv.clone(), None));
        }
    }
    drop(events);
    let events = Printing::new(printer, logs, 0);
    if top_failed.is_empty() {
        return Ok(());
    }
    if top_failed.len() == 1
        && let Some((_, Some(e))) = top_failed.pop()
    {
        return Err(e.into());
    }
    if let Some(e) = top_failed.iter().rev().find_map(|(_, e)| e.as_ref()) {
        events.error(&e.to_string());
    }
    let paths: Vec<String> = top_failed
        .iter()
        .map(|(p, _)| format!("'{}'", dir.print(p)))
        .collect();
    Err(BuildError::Several {
        paths: paths.join(", "),
    }
    .into())
}

fn outputs_valid(store: &crate::store::local::LocalStore, plan: &goal::Plan, w: &Wanted) -> bool {
    let node = &plan.nodes[&w.drv];
    node.wanted.iter().all(|o| {
        node.drv.outputs[o]
            .path()
            .is_some_and(|p| store.is_valid_path(p).unwrap_or(false))
    })
}

/// The derivation a value is (`type = "derivation"`), with its `drvPath` and `outputName`.
fn derivation_of(m: &mut Machine, v: &Value, inst: &str) -> crate::eval::R<Built> {
    let attrs = m.attrs_of(v)?;
    let get_string = |m: &mut Machine, name: &str| -> crate::eval::R<Option<String>> {
        match attrs.get(Symbol::intern(name)) {
            None => Ok(None),
            Some(a) => {
                let x = m.force(&a.value.clone())?;
                let mut c = crate::eval::context::Context::default();
                let s = m.coerce_to_string(&x, &mut c, false, false)?;
                Ok(Some(String::from_utf8_lossy(&s).into_owned()))
            }
        }
    };
    if get_string(m, "type")?.as_deref() != Some("derivation") {
        return crate::eval::error::err(format!(
            "installable '{inst}' does not evaluate to a derivation"
        ));
    }
    let Some(drv_path) = get_string(m, "drvPath")? else {
        return crate::eval::error::err("derivation does not have attribute 'drvPath'");
    };
    let output = get_string(m, "outputName")?.unwrap_or_else(|| "out".to_owned());
    Ok(Built {
        drv: drv_path,
        output,
    })
}

/// The build settings from the configuration (`max-jobs`, `cores`, `log-lines`, …) and `-j`.
pub(super) fn build_settings(
    ctx: &Context,
    jobs: Option<&str>,
) -> anyhow::Result<crate::build::Settings> {
    let d = &ctx.settings.daemon;
    let get = |name: &str| {
        d.overrides
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let max_jobs = match jobs {
        None => d.max_jobs,
        // Asked only here: it reads the cgroup's CPU quota, which every evaluation would pay.
        Some("auto") => std::thread::available_parallelism().map_or(1, |n| n.get() as u64),
        Some(n) => n.parse().map_err(|_| {
            anyhow::anyhow!("error: invalid value '{n}' for '-j': expected an integer or 'auto'")
        })?,
    };
    let env: BTreeMap<String, String> = super::env::all_vars().into_iter().collect();
    let build_dir_parent = get("build-dir")
        .filter(|s| !s.is_empty())
        .or_else(|| env.get("TMPDIR").cloned())
        .unwrap_or_else(|| "/tmp".to_owned());
    let words =
        |v: String| -> BTreeSet<String> { v.split_whitespace().map(str::to_owned).collect() };
    let mut platform = crate::build::platform::Platform::default();
    if let Some(system) = get("system") {
        platform.system = system;
    }
    platform.extra_platforms = get("extra-platforms").map_or_else(default_extra_platforms, words);
    match get("system-features") {
        Some(v) => platform.features = words(v),
        None => {
            use rustix::fs::{Access, access};
            if access("/dev/kvm", Access::READ_OK | Access::WRITE_OK).is_ok() {
                platform.features.insert("kvm".to_owned());
            }
        }
    }
    let sandbox = sandbox_config(&get)?;
    Ok(crate::build::Settings {
        check: BTreeSet::new(),
        platform,
        sandbox,
        max_jobs,
        cores: d.cores,
        log_lines: get("log-lines").and_then(|v| v.parse().ok()).unwrap_or(10),
        keep_failed: d.keep_failed,
        keep_going: d.keep_going,
        keep_build_log: get("keep-build-log").is_none_or(|v| v == "true"),
        compress_build_log: get("compress-build-log").is_none_or(|v| v == "true"),
        build_dir_parent: build_dir_parent.into(),
        caller_env: env,
        helper: std::env::current_exe().ok(),
        fetcher: Some(std::sync::Arc::new(Downloader {
            settings: ctx.fetch_settings(),
            http: ctx.http.clone(),
            now: super::env::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        })),
    })
}

/// Nix's default `extra-platforms` on this machine: on `x86_64-linux`, `i686-linux` and the
/// `x86_64-vN-linux` levels the CPU supports.
fn default_extra_platforms() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    {
        use std::arch::is_x86_feature_detected as has;
        out.insert("i686-linux".to_owned());
        out.insert("x86_64-v1-linux".to_owned());
        let v2 = has!("cmpxchg16b")
            && has!("popcnt")
            && has!("sse3")
            && has!("sse4.1")
            && has!("sse4.2")
            && has!("ssse3");
        let v3 = v2
            && has!("avx")
            && has!("avx2")
            && has!("bmi1")
            && has!("bmi2")
            && has!("f16c")
            && has!("fma")
            && has!("lzcnt")
            && has!("movbe")
            && has!("xsave");
        let v4 = v3
            && has!("avx512f")
            && has!("avx512bw")
            && has!("avx512cd")
            && has!("avx512dq")
            && has!("avx512vl");
        for (level, ok) in [(2, v2), (3, v3), (4, v4)] {
            if ok {
                out.insert(format!("x86_64-v{level}-linux"));
            }
        }
    }
    out
}

/// The sandbox settings, with Nix's defaults for those not set (`sandbox = true`,
/// `build-users-group = nixbld` for root; `sandbox-paths` empty, as in Debian's Nix).
fn sandbox_config(
    get: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<crate::build::sandbox::Config> {
    use crate::build::sandbox::{Config, Mode};
    let mut c = Config::default();
    if let Some(v) = get("sandbox") {
        c.mode = Mode::parse(&v)
            .ok_or_else(|| anyhow::anyhow!("option 'sandbox' has invalid value '{v}'"))?;
    }
    if let Some(v) = get("sandbox-paths") {
        c.paths = v.split_whitespace().map(str::to_owned).collect();
    }
    if let Some(v) = get("sandbox-build-dir") {
        c.build_dir = v;
    }
    if let Some(v) = get("sandbox-fallback") {
        c.fallback = v == "true";
    }
    if let Some(v) = get("sandbox-dev-shm-size") {
        c.shm_size = v;
    }
    c.build_users_group = get("build-users-group").unwrap_or_else(|| {
        if rustix::process::getuid().is_root() {
            "nixbld".to_owned()
        } else {
            String::new()
        }
    });
    Ok(c)
}

/// `builtin:fetchurl`'s downloads through the fetch layer (retries, `file:` URLs, offline).
struct Downloader {
    settings: crate::fetch::Settings,
    http: std::sync::Arc<crate::util::http::HttpClient>,
    now: u64,
}

impl crate::build::builtins::Fetcher for Downloader {
    fn fetch(&self, url: &str, sink: &mut dyn std::io::Write) -> Result<(), String> {
        use crate::fetch::http::{Client, Reply, Request};
        let client = Client::new(&self.settings, &self.http, &crate::report::Silent, self.now);
        match client.get(Request::get(url)).map_err(|e| e.to_string())? {
            Reply::Body(_, mut body) => std::io::copy(&mut body, sink)
                .map(drop)
                .map_err(|e| format!("unable to download '{url}': {e}")),
            Reply::NotModified(_) => Err(format!("unable to download '{url}': not modified")),
        }
    }
}
