//! The fuzz target for the Nix language (Nix's parser and `EvalState`): an expression is
//! parsed, lowered, evaluated purely, forced deeply and printed, with no file, store or
//! network access (a world that refuses everything) and within [`FUEL`] units of work, so
//! that a slow or huge input ends with an evaluation error instead of a timeout or an
//! out-of-memory. One evaluator serves every input (its builtins and prelude are built once);
//! what an input leaves in it (caches, its texts' positions) is dropped after it.

use std::cell::RefCell;
use std::rc::Rc;

use crate::eval::env::Env;
use crate::eval::io::Io;
use crate::eval::pos::{self, Origin};
use crate::eval::{Machine, Options};

/// Work units one input may spend ([`Machine::charge`]): an evaluation step, a forced value,
/// an element or byte built. A few milliseconds of work in a release build.
pub const FUEL: u64 = 200_000;

/// What printing the result may show: bounded, so that a value with much sharing prints in
/// time linear in the fuel spent.
const PRINT: crate::eval::print::Options = crate::eval::print::Options {
    force: true,
    derivation_paths: true,
    max_depth: 32,
    max_attrs: 512,
    max_items: 512,
    max_string: 4096,
};

/// A world without files, environment, clock or network: store paths of texts (`toFile`,
/// derivations) are computed, nothing is written.
struct NoWorld {
    store_dir: crate::store::StoreDir,
}

const REFUSED: &str = "no file access when fuzzing";

impl Io for NoWorld {
    fn store_dir(&self) -> &str {
        self.store_dir.as_str()
    }

    fn read_file(&self, _: &str) -> Result<Vec<u8>, String> {
        Err(REFUSED.into())
    }

    fn file_type(&self, _: &str) -> Result<Option<crate::eval::io::FileType>, String> {
        Err(REFUSED.into())
    }

    fn lstat_type(&self, _: &str) -> Result<Option<crate::eval::io::FileType>, String> {
        Err(REFUSED.into())
    }

    fn read_dir(&self, _: &str) -> Result<Vec<(String, crate::eval::io::FileType)>, String> {
        Err(REFUSED.into())
    }

    fn add_path(&self, _: &str, _: &str, _: bool) -> Result<String, String> {
        Err(REFUSED.into())
    }

    fn add_text(
        &self,
        name: &str,
        text: &[u8],
        refs: &[String],
        _: bool,
    ) -> Result<String, String> {
        let mut parsed = Vec::new();
        for r in refs {
            parsed.push(self.store_dir.parse(r).map_err(|e| e.to_string())?);
        }
        let refs: Vec<_> = parsed.iter().collect();
        let hash = crate::hash::Hash::digest(crate::hash::Algo::Sha256, text);
        let path = self
            .store_dir
            .make_text_path(&hash, name, &refs)
            .map_err(|e| e.to_string())?;
        Ok(self.store_dir.print(&path))
    }

    fn get_env(&self, _: &str) -> Option<String> {
        None
    }

    fn home(&self) -> Option<String> {
        None
    }

    fn now(&self) -> i64 {
        0
    }

    fn message(&self, _: &str) {}
}

thread_local! {
    /// The evaluator, and the position mark after its prelude.
    static MACHINE: RefCell<Option<(Machine, u32)>> = const { RefCell::new(None) };
}

/// Parses and evaluates `data` as a Nix expression.
pub fn nix_eval(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = evaluate(text);
    }
}

/// What `text` evaluates to, printed, or the evaluation's error message.
fn evaluate(text: &str) -> Result<Vec<u8>, String> {
    MACHINE.with(|cell| {
        let mut slot = cell.borrow_mut();
        let (m, mark) = slot.get_or_insert_with(|| {
            let world = NoWorld {
                store_dir: crate::store::StoreDir::default(),
            };
            let opts = Options {
                pure: true,
                read_only: true,
                ..Options::default()
            };
            let m = Machine::new(Rc::new(world), opts);
            (m, pos::mark())
        });
        m.fuel = FUEL;
        let result = (|| {
            let e = m.parse(text, Origin::String, "/fuzz", false)?;
            let v = m.eval(&e, &Env::new(None, Vec::new()))?;
            m.force_deep(&v)?;
            crate::eval::print::print_with(m, &v, PRINT)
        })()
        .map_err(|e| e.msg);
        // Nothing of this input stays for the next.
        m.imports.clear();
        m.drvs.clear();
        m.messages.clear();
        m.drv_hashes = crate::store::derivation::HashCache::new();
        m.regexes = Default::default();
        pos::forget_since(*mark);
        result
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fails_with(text: &str, wanted: &str) {
        match evaluate(text) {
            Ok(v) => panic!("{text} gave {}", String::from_utf8_lossy(&v)),
            Err(msg) => assert!(msg.contains(wanted), "{text}: {msg}"),
        }
    }

    #[test]
    fn evaluates_and_prints() {
        let printed = evaluate("let f = x: x * 2; in { a = f 21; b = [ \"s\" ]; }").unwrap();
        assert_eq!(printed, b"{ a = 42; b = [ \"s\" ]; }");
    }

    #[test]
    fn huge_or_endless_work_runs_out_of_fuel() {
        fails_with("builtins.genList (x: x) 1000000000", "ran out of fuel");
        fails_with(
            "let f = s: n: if n == 0 then s else f (s + s) (n - 1); in f \"x\" 60",
            "ran out of fuel",
        );
        fails_with(
            "let f = l: n: if n == 0 then l else f (l ++ l) (n - 1); in f [ 1 ] 60",
            "ran out of fuel",
        );
        fails_with(
            "builtins.foldl' (a: b: a + b) 0 (builtins.genList (x: x) 150000)",
            "ran out of fuel",
        );
        // The next input has its fuel again.
        assert_eq!(evaluate("1 + 2").unwrap(), b"3");
    }

    #[test]
    fn the_world_is_out_of_reach() {
        fails_with("builtins.readFile /etc/passwd", "no file access");
        fails_with("import /etc/hosts", "no file access");
        assert!(
            evaluate("(derivation { name = \"d\"; builder = \"b\"; system = \"s\"; }).drvPath")
                .unwrap()
                .ends_with(b"-d.drv\"")
        );
    }

    #[test]
    fn inputs_leave_no_positions_behind() {
        evaluate("1").unwrap();
        let before = pos::mark();
        for _ in 0..100 {
            let _ = evaluate("let a = 1; in a + \"x\"");
        }
        assert_eq!(pos::mark(), before);
    }
}
