//! libFuzzer target `phantom_spec` (see `xfire_fuzz::phantom_spec`).
#![no_main]

#[global_allocator]
static ALLOC: xfire_fuzz::alloc::Counting = xfire_fuzz::alloc::Counting;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    xfire_fuzz::phantom_spec(data);
});
