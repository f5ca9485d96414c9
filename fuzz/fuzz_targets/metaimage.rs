//! libFuzzer target `metaimage` (see `xfire_fuzz::metaimage`).
#![no_main]

#[global_allocator]
static ALLOC: xfire_fuzz::alloc::Counting = xfire_fuzz::alloc::Counting;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    xfire_fuzz::metaimage(data);
});
