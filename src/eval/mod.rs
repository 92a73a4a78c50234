//! The Nix language (Nix's `libexpr`): parsing with rnix behind a linear guard ([`parse`]),
//! lowering to a compact form with variables resolved to slots ([`lower`], [`ir`]), a lazy
//! evaluator with blackholing and bounded recursion ([`machine`]), values ([`value`]) with
//! string context ([`context`]), the builtins ([`builtins`]) and printing ([`print`](mod@print)).
//! Everything that touches the world goes through the [`io::Io`] trait.

pub mod builtins;
pub mod compare;
pub mod context;
pub mod env;
pub mod error;
pub mod io;
pub mod ir;
pub mod lower;
pub mod machine;
pub mod parse;
pub mod paths;
pub mod pos;
pub mod print;
pub mod show;
pub mod symbol;
pub mod value;

pub use error::{EvalError, R};
pub use machine::{Machine, Options};
pub use value::Value;
