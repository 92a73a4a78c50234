//! Whether this machine can build a derivation (Nix's `ParsedDerivation::canBuildLocally`): its
//! `system` must be this machine's (the `system` setting) or one of `extra-platforms`, unless
//! its builder is builtin, and every feature of its `requiredSystemFeatures` must be among
//! `system-features`. Otherwise the build fails with [`Error::WrongSystem`], Nix 2.8's
//! message, before anything runs.

use std::collections::BTreeSet;

use super::Error;
use crate::store::derivation::Derivation;

/// What this machine builds: the `system`, `extra-platforms` and `system-features` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Platform {
    /// `system` (`x86_64-linux`).
    pub system: String,
    /// `extra-platforms`.
    pub extra_platforms: BTreeSet<String>,
    /// `system-features`.
    pub features: BTreeSet<String>,
}

impl Default for Platform {
    /// This machine's `system` as Nix names it, with Nix's default features (without `kvm`,
    /// which depends on `/dev/kvm`: the command line adds it) and no extra platforms.
    fn default() -> Platform {
        Platform {
            system: this_system(),
            extra_platforms: BTreeSet::new(),
            features: ["benchmark", "big-parallel", "nixos-test"]
                .into_iter()
                .map(str::to_owned)
                .collect(),
        }
    }
}

/// The system this binary was built for, as Nix spells it (`x86_64-linux`, `aarch64-darwin`).
pub fn this_system() -> String {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        os => os,
    };
    format!("{}-{os}", std::env::consts::ARCH)
}

/// The features a derivation requires: `requiredSystemFeatures`, a list in structured
/// attributes, else a blank-separated string.
pub fn required_features(drv: &Derivation) -> BTreeSet<String> {
    if let Some(json) = drv.env_var("__json") {
        let v: serde_json::Value = serde_json::from_slice(json).unwrap_or_default();
        return v
            .get("requiredSystemFeatures")
            .and_then(|l| l.as_array())
            .map(|l| {
                l.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
    }
    drv.env_var("requiredSystemFeatures")
        .map(|v| {
            String::from_utf8_lossy(v)
                .split_whitespace()
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Checks that this machine can build `drv` (printed as `printed`).
pub fn check(platform: &Platform, drv: &Derivation, printed: &str) -> Result<(), Error> {
    let builtin = drv.builder.starts_with(b"builtin:");
    let system = String::from_utf8_lossy(&drv.system).into_owned();
    let required = required_features(drv);
    let system_ok =
        builtin || system == platform.system || platform.extra_platforms.contains(&system);
    if system_ok && required.is_subset(&platform.features) {
        return Ok(());
    }
    let join = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(", ");
    Err(Error::WrongSystem {
        platform: system,
        required: join(&required),
        drv: printed.to_owned(),
        system: platform.system.clone(),
        features: join(&platform.features),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_is_nix_2_8s() {
        let e = Error::WrongSystem {
            platform: "aarch64-linux".to_owned(),
            required: String::new(),
            drv: "/nix/store/x-a.drv".to_owned(),
            system: "x86_64-linux".to_owned(),
            features: "benchmark, big-parallel, kvm, nixos-test".to_owned(),
        };
        assert_eq!(
            e.to_string(),
            "a 'aarch64-linux' with features {} is required to build '/nix/store/x-a.drv', but I am a 'x86_64-linux' with features {benchmark, big-parallel, kvm, nixos-test}"
        );
    }
}
