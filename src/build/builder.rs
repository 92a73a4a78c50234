//! One local build (Nix's `LocalDerivationGoal`: spec E4.2 steps 3–13): lock the outputs, run
//! the builder in a fresh build directory with [`super::env`]'s environment (in the sandbox
//! of [`super::sandbox`] unless `sandbox = false`, as a build user when root has one), log
//! its output, check, canonicalise and scan the outputs, check fixed-output hashes, register
//! the outputs, clean up.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::io::Read as _;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;

use super::log::{BuildLog, log_path};
use super::{Error, Events, Settings, env, scan};
use crate::hash::{Hash, Hasher};
use crate::store::ca::{ContentAddress, Method};
use crate::store::derivation::{Derivation, Output, fixed_output_path};
use crate::store::local::canon::{canonicalise, delete_path, move_path};
use crate::store::local::{LocalStore, PathLocks};
use crate::store::{PathInfo, Store as _, StorePath};

/// Where the logs of a store go (its `log` setting, by default `<root>/nix/var/log/nix`).
pub fn log_dir(store: &LocalStore) -> PathBuf {
    store.log_dir().to_owned()
}

/// Builds `drv` (stored at `drv_path`) unless its outputs are valid. `input_outputs` gives
/// the output paths of its input derivations, which must be valid.
pub fn build(
    store: &LocalStore,
    drv_path: &StorePath,
    drv: &Derivation,
    input_outputs: &BTreeSet<StorePath>,
    settings: &Settings,
    events: &dyn Events,
) -> Result<(), Error> {
    let dir = store.store_dir().clone();
    let printed = dir.print(drv_path);
    let mut outputs = BTreeMap::new();
    for (name, out) in &drv.outputs {
        match out {
            Output::InputAddressed(p) | Output::Fixed { path: p, .. } => {
                outputs.insert(name.clone(), p.clone());
            }
            _ => {
                return Err(Error::Other(format!(
                    "building '{printed}' needs the experimental feature 'ca-derivations' or 'impure-derivations', which rflake does not build yet"
                )));
            }
        }
    }
    for p in outputs.values() {
        store.add_temp_root(p).map_err(Error::other)?;
    }
    let reals: BTreeSet<PathBuf> = outputs.values().map(|p| store.real_path(p)).collect();
    let mut locks = PathLocks::lock(&reals).map_err(Error::other)?;
    locks.set_deletion(true);
    let mut valid = BTreeSet::new();
    for (name, p) in &outputs {
        if store.is_valid_path(p).map_err(Error::other)? {
            valid.insert(name.clone());
        }
    }
    let checking = settings.check.contains(drv_path);
    // Another process may have built them while we waited for the locks.
    if valid.len() == outputs.len() && !checking {
        return Ok(());
    }
    if checking && valid.len() != outputs.len() {
        return Err(super::determinism::not_valid(&printed));
    }
    super::platform::check(&settings.platform, drv, &printed)?;
    if checking {
        events.checking(&printed);
    } else {
        events.building(&printed);
    }
    // Outputs that are valid already are built at a scratch path (Nix's `makeFallbackPath`);
    // the builder sees that path instead.
    let mut scratch = BTreeMap::new();
    let mut rewrites = Vec::new();
    for (name, p) in &outputs {
        let s = if valid.contains(name) {
            let fallback = fallback_path(store, drv_path, p)?;
            rewrites.push((p.hash_part().to_owned(), fallback.hash_part().to_owned()));
            fallback
        } else {
            p.clone()
        };
        delete_path(&store.real_path(&s)).map_err(Error::other)?;
        scratch.insert(name.clone(), s);
    }
    let drv = rewrite_derivation(drv, &rewrites);
    let result = run_and_register(
        store,
        drv_path,
        &drv,
        &outputs,
        &scratch,
        &valid,
        input_outputs,
        settings,
        events,
    );
    // Scratch copies of valid outputs are never kept; failed outputs are not left behind.
    for (name, s) in &scratch {
        if valid.contains(name) || result.is_err() {
            let registered = store.is_valid_path(s).unwrap_or(true);
            if !registered {
                let _ = delete_path(&store.real_path(s));
            }
        }
    }
    result
}

/// Nix's `makeFallbackPath` of a store path: where an output that is valid already is built
/// (to be thrown away, or compared with `--rebuild`).
fn fallback_path(
    store: &LocalStore,
    drv_path: &StorePath,
    path: &StorePath,
) -> Result<StorePath, Error> {
    let dir = store.store_dir();
    dir.make_path(
        &format!("rewrite:{}:{}", drv_path.base_name(), path.base_name()),
        &Hash::zero(crate::hash::Algo::Sha256),
        path.name(),
    )
    .map_err(Error::other)
}

/// Replaces hash parts in the builder, arguments and environment.
fn rewrite_derivation(drv: &Derivation, rewrites: &[(String, String)]) -> Derivation {
    let mut d = drv.clone();
    if rewrites.is_empty() {
        return d;
    }
    let rw = |s: &mut Vec<u8>| {
        for (from, to) in rewrites {
            *s = replace_bytes(s, from.as_bytes(), to.as_bytes());
        }
    };
    rw(&mut d.builder);
    d.args.iter_mut().for_each(rw);
    d.env.values_mut().for_each(rw);
    d
}

/// `s` with every occurrence of `from` replaced by `to`.
pub(crate) fn replace_bytes(s: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

/// The paths the outputs may refer to: the closure of the inputs.
fn input_closure(
    store: &LocalStore,
    drv: &Derivation,
    input_outputs: &BTreeSet<StorePath>,
) -> Result<BTreeSet<StorePath>, Error> {
    let mut todo: Vec<StorePath> = drv
        .input_srcs
        .iter()
        .chain(input_outputs)
        .cloned()
        .collect();
    let mut seen = BTreeSet::new();
    while let Some(p) = todo.pop() {
        if !seen.insert(p.clone()) {
            continue;
        }
        let dir = store.store_dir();
        let info = store
            .path_info(&p)
            .map_err(Error::other)?
            .ok_or_else(|| Error::Other(format!("path '{}' is not valid", dir.print(&p))))?;
        todo.extend(info.references.into_iter().filter(|r| !seen.contains(r)));
    }
    Ok(seen)
}

#[allow(clippy::too_many_arguments)]
fn run_and_register(
    store: &LocalStore,
    drv_path: &StorePath,
    drv: &Derivation,
    outputs: &BTreeMap<String, StorePath>,
    scratch: &BTreeMap<String, StorePath>,
    valid: &BTreeSet<String>,
    input_outputs: &BTreeSet<StorePath>,
    settings: &Settings,
    events: &dyn Events,
) -> Result<(), Error> {
    let dir = store.store_dir().clone();
    let printed = dir.print(drv_path);
    let closure = input_closure(store, drv, input_outputs)?;
    let sandboxed = super::sandbox::decide(drv, &printed, settings)?;
    let user = super::sandbox::build_user(store, drv, settings)?;
    let build_dir_guard = super::build_dir::BuildDir::create(&settings.build_dir_parent, drv_path)?;
    let build_dir = build_dir_guard.path().to_owned();
    let cores = if settings.cores == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
    } else {
        settings.cores
    };
    let build_dir_text = if sandboxed {
        settings.sandbox.build_dir.clone()
    } else {
        build_dir.to_string_lossy().into_owned()
    };
    let scratch_printed: BTreeMap<String, String> = scratch
        .iter()
        .map(|(k, v)| (k.clone(), dir.print(v)))
        .collect();
    let prepared = env::prepare(
        drv,
        &env::Params {
            store_dir: dir.as_str(),
            build_dir: &build_dir_text,
            cores,
            caller_env: &settings.caller_env,
            outputs: &scratch_printed,
        },
    )
    .map_err(Error::other);
    let outcome = prepared.and_then(|prepared| {
        for (name, bytes) in &prepared.files {
            let p = build_dir.join(name);
            std::fs::write(&p, bytes).map_err(|e| {
                Error::Other(format!(
                    "writing file '{}': {}",
                    p.display(),
                    crate::util::fs::strerror(&e)
                ))
            })?;
        }
        let log_file = settings
            .keep_build_log
            .then(|| log_path(&log_dir(store), drv_path, settings.compress_build_log));
        if let Some(u) = &user {
            super::sandbox::hand_over(store, &build_dir, u, sandboxed)?;
        }
        let sandbox = if sandboxed {
            let params = super::sandbox::prepare::Params {
                store,
                drv_path,
                drv,
                closure: &closure,
                outputs: scratch,
                build_dir: &build_dir,
                config: &settings.sandbox,
                user: user.as_ref(),
            };
            Some(super::sandbox::prepare::prepare(
                &params,
                &prepared.env,
                &settings.sandbox.shm_size,
            )?)
        } else {
            None
        };
        let out_real = scratch.get("out").map(|p| store.real_path(p));
        let launch = Launch {
            sandbox: sandbox.as_ref(),
            user: user.as_ref(),
        };
        run_builder(
            store,
            drv,
            &printed,
            out_real.as_deref(),
            &prepared,
            &build_dir,
            log_file.as_deref(),
            &launch,
            settings,
            events,
        )?;
        if let Some(sb) = &sandbox {
            sb.take_outputs(store, scratch)?;
        }
        if user.is_some() {
            for p in scratch.values() {
                let real = store.real_path(p);
                if std::fs::symlink_metadata(&real).is_ok() {
                    super::sandbox::users::reclaim(&real)?;
                }
            }
        }
        Ok(())
    });
    let outcome = outcome.and_then(|()| {
        if settings.check.contains(drv_path) {
            super::determinism::compare(store, &printed, outputs, scratch, settings.keep_failed)
        } else {
            register_outputs(
                store, drv_path, drv, outputs, scratch, valid, &closure, &printed,
            )
        }
    });
    if outcome.is_err() && settings.keep_failed {
        events.note(&format!(
            "keeping build directory '{}'",
            build_dir.display()
        ));
    } else {
        build_dir_guard.remove();
    }
    outcome
}

/// How the builder process is started: through the sandbox helper, as a build user.
struct Launch<'a> {
    sandbox: Option<&'a super::sandbox::prepare::Sandbox>,
    user: Option<&'a super::sandbox::users::BuildUser>,
}

/// Runs the builder, logging its output; fails unless it exits with 0.
#[allow(clippy::too_many_arguments)]
fn run_builder(
    store: &LocalStore,
    drv: &Derivation,
    printed: &str,
    out_real: Option<&Path>,
    prepared: &env::Prepared,
    build_dir: &Path,
    log_file: Option<&Path>,
    launch: &Launch<'_>,
    settings: &Settings,
    events: &dyn Events,
) -> Result<(), Error> {
    let mut log = BuildLog::create(log_file, settings.compress_build_log, settings.log_lines)
        .map_err(Error::other)?;
    if let Some(name) = drv.builder.strip_prefix(b"builtin:") {
        let name = String::from_utf8_lossy(name);
        let fs = super::store_fs::StoreFs::new(store.store_dir().as_str(), store.real_store_dir());
        let mut warnings = Vec::new();
        let result = match out_real {
            Some(out) => super::builtins::run(
                &name,
                drv,
                out,
                settings.fetcher.as_deref(),
                &fs,
                &mut |w| warnings.push(format!("warning: {w}\n")),
            ),
            None => Err("builtin builders need an output named 'out'".to_owned()),
        };
        for w in warnings {
            for line in log.write(w.as_bytes()) {
                events.log_line(&drv.name, &line);
            }
        }
        let status = match result {
            Ok(()) => None,
            Err(msg) => {
                for line in log.write(format!("error: {msg}\n").as_bytes()) {
                    events.log_line(&drv.name, &line);
                }
                Some("failed with exit code 1".to_owned())
            }
        };
        let (_, tail) = log.finish();
        return match status {
            None => Ok(()),
            Some(status) => Err(Error::BuilderFailed {
                drv: printed.to_owned(),
                status,
                tail,
                log_kept: log_file.is_some(),
            }),
        };
    }
    let (mut reader, writer) = std::io::pipe().map_err(Error::other)?;
    let status = {
        let logical = Path::new(store.store_dir().as_str());
        let mut cmd = if launch.sandbox.is_some() {
            let Some(helper) = &settings.helper else {
                return Err(Error::Other(format!(
                    "cannot build '{printed}' in a sandbox without the rflake executable"
                )));
            };
            // The helper takes the builder, its arguments and environment from the spec, which
            // it reads from its standard input.
            let mut c = Command::new(helper);
            c.arg(super::sandbox::helper::OUTER_ARG);
            c
        } else if store.real_store_dir() == logical {
            // As Nix's `startProcess` (`dieWithParent`), a killed rflake takes its builder along:
            // the helper sets the parent-death signal and executes the builder (unsafe code,
            // which a `pre_exec` hook would need, is forbidden here).
            let mut c = match &settings.helper {
                Some(helper) => {
                    let mut c = Command::new(helper);
                    c.arg(super::chroot::DIRECT_ARG)
                        .arg(OsStr::from_bytes(&drv.builder));
                    c
                }
                None => {
                    let mut c = Command::new(OsStr::from_bytes(&drv.builder));
                    // As in Nix, the builder's argv[0] is its base name.
                    c.arg0(super::chroot::base_name(OsStr::from_bytes(&drv.builder)));
                    c
                }
            };
            if let Some(u) = launch.user {
                c.uid(u.uid).gid(u.gid);
            }
            c
        } else {
            // A chroot store: the builder must see the store at its logical path.
            let Some(helper) = &settings.helper else {
                return Err(Error::Other(format!(
                    "cannot build '{printed}' in a store whose directory is not '{}'",
                    logical.display()
                )));
            };
            let mut c = Command::new(helper);
            c.arg(super::chroot::HELPER_ARG)
                .arg(store.real_store_dir())
                .arg(logical)
                .arg(OsStr::from_bytes(&drv.builder));
            c
        };
        if launch.sandbox.is_none() {
            cmd.args(drv.args.iter().map(|a| OsStr::from_bytes(a)));
        }
        cmd.env_clear()
            .envs(
                prepared
                    .env
                    .iter()
                    .map(|(k, v)| (OsStr::from_bytes(k), OsStr::from_bytes(v))),
            )
            .current_dir(build_dir)
            .stdin(if launch.sandbox.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(writer.try_clone().map_err(Error::other)?)
            .stderr(writer)
            .process_group(0);
        let spawned = cmd.spawn();
        // The parent's copies of the pipe's write end must be closed to see its end.
        drop(cmd);
        match spawned {
            Err(e) => {
                let msg = format!(
                    "error: executing '{}': {}",
                    String::from_utf8_lossy(&drv.builder),
                    crate::util::fs::strerror(&e)
                );
                for line in log.write(format!("{msg}\n").as_bytes()) {
                    events.log_line(&drv.name, &line);
                }
                None
            }
            Ok(mut child) => {
                if let (Some(mut stdin), Some(sandbox)) = (child.stdin.take(), launch.sandbox) {
                    // The helper reads its spec to the end before anything else; if it died
                    // first, its exit status tells why.
                    let _ = std::io::Write::write_all(&mut stdin, sandbox.spec());
                }
                let finished = std::sync::atomic::AtomicBool::new(false);
                let group = rustix::process::Pid::from_raw(child.id() as i32);
                let status = std::thread::scope(|s| {
                    // On SIGINT/SIGTERM the builder's process group is killed (it has its own
                    // group, so the terminal's signal does not reach it), as Nix does.
                    let watcher = s.spawn(|| {
                        while !finished.load(Ordering::Relaxed) {
                            if crate::util::interrupt::is_interrupted() {
                                if let Some(pid) = group {
                                    let _ = rustix::process::kill_process_group(
                                        pid,
                                        rustix::process::Signal::KILL,
                                    );
                                }
                                return;
                            }
                            std::thread::park_timeout(std::time::Duration::from_millis(50));
                        }
                    });
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        match reader.read(&mut buf) {
                            Ok(0) => break,
                            Ok(n) => {
                                for line in log.write(&buf[..n]) {
                                    events.log_line(&drv.name, &line);
                                }
                            }
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                            Err(_) => break,
                        }
                    }
                    let status = child.wait();
                    finished.store(true, Ordering::Relaxed);
                    // Wake the watcher so the build does not wait out its poll interval.
                    watcher.thread().unpark();
                    status
                });
                if crate::util::interrupt::is_interrupted() {
                    return Err(Error::Other("interrupted by the user".to_owned()));
                }
                Some(status.map_err(Error::other)?)
            }
        }
    };
    let (last, tail) = log.finish();
    if let Some(line) = last {
        events.log_line(&drv.name, &line);
    }
    let status = match status {
        Some(s) if s.success() => return Ok(()),
        Some(s) => match (s.code(), s.signal()) {
            (Some(c), _) => format!("failed with exit code {c}"),
            (None, Some(sig)) => format!("failed due to signal {sig} ({})", signal_name(sig)),
            _ => "failed".to_owned(),
        },
        None => "failed with exit code 1".to_owned(),
    };
    Err(Error::BuilderFailed {
        drv: printed.to_owned(),
        status,
        tail,
        log_kept: log_file.is_some(),
    })
}

/// `strsignal`'s names of the common signals.
fn signal_name(sig: i32) -> String {
    match sig {
        1 => "Hangup",
        2 => "Interrupt",
        3 => "Quit",
        4 => "Illegal instruction",
        6 => "Aborted",
        7 => "Bus error",
        8 => "Floating point exception",
        9 => "Killed",
        11 => "Segmentation fault",
        13 => "Broken pipe",
        14 => "Alarm clock",
        15 => "Terminated",
        _ => return format!("Unknown signal {sig}"),
    }
    .to_owned()
}

/// Checks, canonicalises and scans the outputs that were not valid, checks a fixed output's
/// hash, and registers them in one transaction (E4.2 steps 7–12).
#[allow(clippy::too_many_arguments)]
fn register_outputs(
    store: &LocalStore,
    drv_path: &StorePath,
    drv: &Derivation,
    outputs: &BTreeMap<String, StorePath>,
    scratch: &BTreeMap<String, StorePath>,
    valid: &BTreeSet<String>,
    closure: &BTreeSet<StorePath>,
    printed: &str,
) -> Result<(), Error> {
    let dir = store.store_dir().clone();
    let mut candidates: Vec<StorePath> = closure.iter().cloned().collect();
    candidates.extend(scratch.values().cloned());
    // A reference to a scratch path is one to the output it stands for.
    let final_of: BTreeMap<&StorePath, &StorePath> = scratch
        .iter()
        .filter_map(|(n, s)| Some((s, outputs.get(n)?)))
        .collect();
    let mut scanned = BTreeMap::new();
    for (name, s) in scratch {
        if valid.contains(name) {
            continue;
        }
        let real = store.real_path(s);
        let real_text = real.to_string_lossy().into_owned();
        let Ok(meta) = std::fs::symlink_metadata(&real) else {
            return Err(Error::MissingOutput {
                drv: printed.to_owned(),
                output: name.clone(),
                path: real_text,
            });
        };
        if !meta.file_type().is_symlink() && meta.permissions().mode() & 0o022 != 0 {
            return Err(Error::Suspicious {
                path: real_text,
                output: name.clone(),
            });
        }
        canonicalise(&real).map_err(Error::other)?;
        let refs: BTreeSet<StorePath> = scan::scan_path(&real, &candidates)
            .map_err(Error::other)?
            .into_iter()
            .map(|r| final_of.get(&r).map_or(r.clone(), |f| (*f).clone()))
            .collect();
        scanned.insert(name.clone(), (meta, refs));
    }
    let mut infos = Vec::new();
    let mut delayed = None;
    for (name, (meta, references)) in scanned {
        let path = &outputs[&name];
        let real = store.real_path(path);
        let mut info = match &drv.outputs[&name] {
            Output::Fixed { method, hash, .. } => {
                let (info, err) = fixed_output(
                    store, drv, printed, &name, &real, &meta, *method, hash, references,
                )?;
                if err.is_some() {
                    delayed = err;
                }
                info
            }
            _ => {
                let (nar_hash, nar_size) =
                    crate::store::nar::hash_path(&real).map_err(Error::other)?;
                PathInfo {
                    path: path.clone(),
                    nar_hash,
                    nar_size,
                    references,
                    deriver: None,
                    registration_time: 0,
                    ultimate: true,
                    sigs: BTreeSet::new(),
                    ca: None,
                }
            }
        };
        info.deriver = Some(drv_path.clone());
        info.ultimate = true;
        infos.push((name, info));
    }
    let by_name: BTreeMap<String, PathInfo> = infos.iter().cloned().collect();
    super::checks::check_outputs(&dir, drv, printed, &by_name, &|p| {
        store
            .path_info(p)
            .map_err(Error::other)?
            .map(|i| (i.references, i.nar_size))
            .ok_or_else(|| Error::Other(format!("path '{}' is not valid", dir.print(p))))
    })?;
    let infos: Vec<PathInfo> = infos.into_iter().map(|(_, i)| i).collect();
    // A mismatching fixed output is registered at the path its content gives (as Nix does).
    let mut extra_locks = None;
    for info in &infos {
        if !outputs.values().any(|p| *p == info.path) {
            let real = store.real_path(&info.path);
            store.add_temp_root(&info.path).map_err(Error::other)?;
            let mut l = PathLocks::lock(&BTreeSet::from([real.clone()])).map_err(Error::other)?;
            l.set_deletion(true);
            extra_locks = Some(l);
            let from = store.real_path(&outputs["out"]);
            if store.is_valid_path(&info.path).map_err(Error::other)? {
                delete_path(&from).map_err(Error::other)?;
            } else {
                delete_path(&real).map_err(Error::other)?;
                move_path(&from, &real).map_err(Error::other)?;
            }
        }
    }
    let todo: Vec<PathInfo> = infos
        .into_iter()
        .filter(|i| !store.is_valid_path(&i.path).unwrap_or(false))
        .collect();
    store.register_valid_paths(&todo).map_err(Error::other)?;
    drop(extra_locks);
    match delayed {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// A fixed output's info at the path its content gives, and the error to report after it is
/// registered (hash mismatch, references).
#[allow(clippy::too_many_arguments)]
fn fixed_output(
    store: &LocalStore,
    drv: &Derivation,
    printed: &str,
    name: &str,
    real: &Path,
    meta: &std::fs::Metadata,
    method: Method,
    wanted: &Hash,
    references: BTreeSet<StorePath>,
) -> Result<(PathInfo, Option<Error>), Error> {
    let algo = wanted.algo();
    let real_text = real.to_string_lossy().into_owned();
    let got = match method {
        Method::Flat | Method::Text => {
            if !meta.file_type().is_file() || meta.permissions().mode() & 0o100 != 0 {
                return Err(Error::NotRegularFile { path: real_text });
            }
            let mut h = Hasher::new(algo);
            let mut f = std::fs::File::open(real).map_err(Error::other)?;
            std::io::copy(&mut f, &mut h).map_err(Error::other)?;
            h.finish()
        }
        Method::Recursive => {
            let mut h = Hasher::new(algo);
            crate::store::nar::dump(real, &mut h).map_err(Error::other)?;
            h.finish()
        }
        Method::Git => {
            return Err(Error::Other(format!(
                "git hashing of '{printed}' is not supported"
            )));
        }
    };
    let dir = store.store_dir();
    let path = fixed_output_path(dir, &drv.name, name, method, &got).map_err(Error::other)?;
    let (nar_hash, nar_size) = crate::store::nar::hash_path(real).map_err(Error::other)?;
    let mut err = None;
    if got != *wanted {
        err = Some(Error::HashMismatch {
            drv: printed.to_owned(),
            specified: wanted.to_sri(),
            got: got.to_sri(),
        });
    }
    if !references.is_empty() {
        // Not registered: the content address of a fixed output has no references.
        return Err(Error::IllegalReferences {
            drv: printed.to_owned(),
        });
    }
    let info = PathInfo {
        path,
        nar_hash,
        nar_size,
        references,
        deriver: None,
        registration_time: 0,
        ultimate: true,
        sigs: BTreeSet::new(),
        ca: Some(ContentAddress { method, hash: got }),
    };
    Ok((info, err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_bytes_replaces_every_occurrence() {
        assert_eq!(replace_bytes(b"aXbXc", b"X", b"YY"), b"aYYbYYc");
        assert_eq!(replace_bytes(b"abc", b"zz", b"q"), b"abc");
    }
}
