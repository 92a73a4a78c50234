//! Environments (Nix's `Env`): a flat array of slots and the environment around it. Every
//! variable was resolved to (depth, slot) when lowering, so a lookup walks `depth` links.

use std::rc::Rc;

use super::value::Value;

/// One level of variables.
pub struct Env {
    /// The environment around this one.
    pub up: Option<Rc<Env>>,
    /// The variables, by slot.
    pub slots: Box<[Value]>,
}

impl Env {
    /// A new level over `up`.
    pub fn new(up: Option<Rc<Env>>, slots: Vec<Value>) -> Rc<Env> {
        Rc::new(Env {
            up,
            slots: slots.into_boxed_slice(),
        })
    }

    /// The environment `depth` levels up.
    pub fn at(self: &Rc<Env>, depth: u32) -> &Rc<Env> {
        let mut e = self;
        for _ in 0..depth {
            match &e.up {
                Some(up) => e = up,
                None => break,
            }
        }
        e
    }
}
