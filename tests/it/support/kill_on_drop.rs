//! A child process the test owns: killed and reaped when the test ends, also when an
//! assertion fails while it runs, so a failing test leaves nothing running after the suite.

use std::ops::{Deref, DerefMut};
use std::process::Child;

/// `child`, killed (SIGKILL) and waited for when dropped.
pub struct KillOnDrop(Option<Child>);

impl KillOnDrop {
    /// Takes ownership of `child`.
    pub fn new(child: Child) -> KillOnDrop {
        KillOnDrop(Some(child))
    }

    /// The process itself, for a caller that waits for it to its end (`wait_with_output`);
    /// no longer killed on drop.
    pub fn into_inner(mut self) -> Child {
        self.0.take().unwrap()
    }
}

impl Deref for KillOnDrop {
    type Target = Child;
    fn deref(&self) -> &Child {
        self.0.as_ref().unwrap()
    }
}

impl DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut Child {
        self.0.as_mut().unwrap()
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
