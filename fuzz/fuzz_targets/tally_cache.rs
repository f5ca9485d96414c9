//! libFuzzer target `tally_cache` (see `xfire_fuzz::tally_cache`).
#![no_main]

#[global_allocator]
static ALLOC: xfire_fuzz::alloc::Counting = xfire_fuzz::alloc::Counting;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    xfire_fuzz::tally_cache(data);
});
