//! Builtins written in Nix (Nix's `derivation.nix` and `fetchurl.nix` roles), in rflake's
//! own words: parsed once per evaluator and installed into the global scope.

use super::super::machine::Machine;
use super::super::pos::Origin;
use super::super::symbol::Symbol;
use super::super::value::Value;

/// `derivation`: `derivationStrict` wrapped so that each output is a set sharing the
/// attributes, with `outPath`, `drvPath`, `type`, `outputName`, `all` and `drvAttrs`.
const DERIVATION: &str = r#"
drvAttrs @ { outputs ? [ "out" ], ... }:
let
  strict = derivationStrict drvAttrs;
  commonAttrs = drvAttrs // (builtins.listToAttrs outputsList) // {
    all = map (x: x.value) outputsList;
    inherit drvAttrs;
  };
  outputToAttrListElement = outputName: {
    name = outputName;
    value = commonAttrs // {
      outPath = builtins.getAttr outputName strict;
      drvPath = strict.drvPath;
      type = "derivation";
      inherit outputName;
    };
  };
  outputsList = map outputToAttrListElement outputs;
in (builtins.head outputsList).value
"#;

/// Installs the prelude's functions as globals (and in `builtins`).
pub fn install(m: &mut Machine) {
    let Ok(v) = m.eval_source(DERIVATION, Origin::Internal("nix-internal"), "/") else {
        return;
    };
    let name = Symbol::intern("derivation");
    let mut globals = (*m.globals).clone();
    globals.insert(name, v.clone());
    m.globals = std::rc::Rc::new(globals);
    if let Value::Attrs(b) = &m.builtins {
        let mut entries = b.entries.clone();
        entries.push(super::super::value::Attr {
            name,
            value: v,
            pos: super::super::pos::PosIdx::NONE,
        });
        m.builtins = Value::attrs(entries);
        let mut globals = (*m.globals).clone();
        globals.insert(Symbol::intern("builtins"), m.builtins.clone());
        m.globals = std::rc::Rc::new(globals);
    }
}
