//! Transparent huge pages for rflake's own heap. The allocator (mimalloc) asks the kernel for
//! huge pages, so the first touch of each 2 MiB of heap has the kernel clear all of it: a
//! command that runs for a few milliseconds (a `profile upgrade` with nothing to do) spends a
//! tenth of its time there. Long evaluations gain from them (a page fault per 2 MiB instead
//! of per 4 KiB). So rflake starts without them ([`start_small`], in `main`) and allows them
//! again when an evaluator is made ([`allow`]). The setting is inherited across `fork` and
//! `exec`: the helpers that start builders allow them ([`for_builder`]), so builders run with
//! the machine's default as under Nix.

use std::sync::atomic::{AtomicBool, Ordering};

/// Whether rflake turned them off (and not whoever started it).
static TURNED_OFF: AtomicBool = AtomicBool::new(false);

/// Turns transparent huge pages off for this process, unless they were off already (best
/// effort: a kernel without the setting keeps its default).
pub fn start_small() {
    if rustix::thread::transparent_huge_pages_are_disabled() == Ok(false)
        && rustix::thread::disable_transparent_huge_pages(true).is_ok()
    {
        TURNED_OFF.store(true, Ordering::Relaxed);
    }
}

/// Turns them on again if [`start_small`] turned them off.
pub fn allow() {
    if TURNED_OFF.swap(false, Ordering::Relaxed) {
        let _ = rustix::thread::disable_transparent_huge_pages(false);
    }
}

/// In a helper about to execute a builder: the machine's default (the rflake that started
/// the helper turned them off).
pub fn for_builder() {
    let _ = rustix::thread::disable_transparent_huge_pages(false);
}
