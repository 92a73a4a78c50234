//! The remote builders of a local build ([`crate::build::remote`]) from the settings:
//! `builders` (default `@$NIX_CONF_DIR/machines`; `--builders` on the command line),
//! `builders-use-substitutes`, `system`, `extra-platforms`, `system-features` (default Nix's
//! `nixos-test benchmark big-parallel`, and `kvm` when `/dev/kvm` exists), `max-jobs`, and the
//! build settings an `ssh://` machine is sent.

use std::collections::BTreeSet;

use super::Context;
use crate::build::remote::{self, Config, Machine, Remote};
use crate::store::uri::StoreUri;

/// The machines and settings, `None` when no machine is configured.
pub(super) fn config(
    ctx: &Context,
    settings: &crate::build::Settings,
) -> anyhow::Result<Option<Config>> {
    let d = &ctx.settings.daemon;
    let get = |name: &str| {
        d.overrides
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let builders = get("builders")
        .unwrap_or_else(|| format!("@{}", ctx.dirs.nix_conf_dir.join("machines").display()));
    let this_system = get("system")
        .unwrap_or_else(|| format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS));
    let read = |p: &str| std::fs::read_to_string(p).ok();
    let machines = remote::machines::parse(&builders, &this_system, &read)?;
    if machines.is_empty() {
        return Ok(None);
    }
    let words = |v: Option<String>| -> Vec<String> {
        v.unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    let system_features: BTreeSet<String> = match get("system-features") {
        Some(v) => words(Some(v)).into_iter().collect(),
        None => {
            let mut f: BTreeSet<String> = ["nixos-test", "benchmark", "big-parallel"]
                .iter()
                .map(|s| (*s).to_owned())
                .collect();
            if std::path::Path::new("/dev/kvm").exists() {
                f.insert("kvm".to_owned());
            }
            f
        }
    };
    let number = |name: &str| get(name).and_then(|v| v.parse().ok()).unwrap_or(0);
    Ok(Some(Config {
        machines,
        use_substitutes: get("builders-use-substitutes").is_some_and(|v| v == "true"),
        this_system,
        extra_platforms: words(get("extra-platforms")),
        system_features,
        max_jobs: settings.max_jobs,
        serve_settings: crate::store::serve::build::BuildSettings {
            max_silent_time: d.max_silent_time,
            build_timeout: number("timeout"),
            max_log_size: number("max-log-size"),
            keep_failed: d.keep_failed,
        },
    }))
}

/// Opens a machine's store as Nix's `Machine::openStore` does: its SSH key and host key as
/// store parameters.
pub(super) fn opener(
    ctx: &Context,
) -> anyhow::Result<impl Fn(&Machine) -> anyhow::Result<Remote> + Sync + use<>> {
    let cfg = crate::store::open::OpenConfig::new(&ctx.store_settings(), ctx.http.clone())?;
    let reporter: std::sync::Arc<dyn crate::report::Reporter + Send + Sync> =
        std::sync::Arc::new(ctx.printer.clone());
    let cwd = ctx.cwd.clone();
    Ok(move |m: &Machine| -> anyhow::Result<Remote> {
        let mut uri = StoreUri::parse(&m.store_uri, &cwd);
        if let StoreUri::Ssh { params, .. } | StoreUri::SshNg { params, .. } = &mut uri {
            if !m.ssh_key.is_empty() {
                params.insert("ssh-key".to_owned(), m.ssh_key.clone());
            }
            if !m.ssh_host_key.is_empty() {
                params.insert(
                    "base64-ssh-public-host-key".to_owned(),
                    m.ssh_host_key.clone(),
                );
            }
        }
        if let Some(s) = crate::store::open::open_serve(&uri, &cfg)? {
            return Ok(Remote::Serve(s));
        }
        if let Some(d) = crate::store::open::open_daemon(&uri, &cfg, &*reporter)? {
            return Ok(Remote::Daemon(d));
        }
        anyhow::bail!(
            "rflake cannot build on '{}': not an 'ssh://' or 'ssh-ng://' store",
            m.store_uri
        )
    })
}
