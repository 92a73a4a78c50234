//! Environments (Nix's `Env`): a flat array of slots and the environment around it. Every
//! variable was resolved to (depth, slot) when lowering, so a lookup walks `depth` links.

use std::rc::Rc;

use super::value::Value;

/// One level of variables.
pub struct Env {
    /// The environment around this one.
    pub up: Option<Rc<Env>>,
    /// The variables, by slot.
    pub slots: Slots,
}

/// An environment's variables: one inline (a call of `x: …`, a `with`: the most common
/// environments, made with one allocation instead of two), or any number.
pub enum Slots {
    /// A single variable, inline.
    One(Value),
    /// Any number of variables.
    Many(Box<[Value]>),
}

impl std::ops::Deref for Slots {
    type Target = [Value];
    fn deref(&self) -> &[Value] {
        match self {
            Slots::One(v) => std::slice::from_ref(v),
            Slots::Many(b) => b,
        }
    }
}

impl Env {
    /// A new level over `up`.
    pub fn new(up: Option<Rc<Env>>, slots: Vec<Value>) -> Rc<Env> {
        Rc::new(Env {
            up,
            slots: Slots::Many(slots.into_boxed_slice()),
        })
    }

    /// A new level of one variable over `up`.
    pub fn one(up: Option<Rc<Env>>, v: Value) -> Rc<Env> {
        Rc::new(Env {
            up,
            slots: Slots::One(v),
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
