//! A counting global allocator: the live heap, its peak since [`reset_peak`], and a hard
//! cap on any single allocation (the process aborts with a message naming the size, so a
//! reader that trusts a header size is a crash the fuzzer reports, not an OOM of the host).
//!
//! This is the only `unsafe` of xfire and it lives in the harness crate, not in a reader:
//! implementing `GlobalAlloc` is unsafe by definition. Every call forwards to `System`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// No single allocation made while a harness runs may exceed this (256 MiB): inputs are at
/// most a few kB (deflate expands at most 1032×), so anything larger came from a size the
/// reader did not check.
pub const HARD_CAP: usize = 256 << 20;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// The allocator; install with `#[global_allocator]`.
pub struct Counting;

fn grow(n: usize) {
    let now = CURRENT.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

fn cap(size: usize) {
    if size > HARD_CAP {
        use std::io::Write;
        // writes a fixed message (no allocation), then aborts: the fuzzer records a crash
        let mut e = std::io::stderr().lock();
        let _ = e.write_all(b"xfire-fuzz: a single allocation exceeded the 256 MiB cap: ");
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        let mut s = size;
        loop {
            i -= 1;
            digits[i] = b'0' + (s % 10) as u8;
            s /= 10;
            if s == 0 {
                break;
            }
        }
        let _ = e.write_all(&digits[i..]);
        let _ = e.write_all(b" bytes requested\n");
        std::process::abort();
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged and only
// updates two atomic counters besides.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        cap(layout.size());
        let p = System.alloc(layout);
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        cap(layout.size());
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        cap(new_size);
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
            grow(new_size);
        }
        p
    }
}

/// Sets the peak to the current live heap and returns it.
pub fn reset_peak() -> usize {
    let now = CURRENT.load(Ordering::Relaxed);
    PEAK.store(now, Ordering::Relaxed);
    now
}

/// The peak live heap since the last [`reset_peak`].
pub fn peak() -> usize {
    PEAK.load(Ordering::Relaxed)
}
