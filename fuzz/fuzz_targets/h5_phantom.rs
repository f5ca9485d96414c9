//! libFuzzer target `h5_phantom` (see `xfire_fuzz::h5_phantom`).
#![no_main]

#[global_allocator]
static ALLOC: xfire_fuzz::alloc::Counting = xfire_fuzz::alloc::Counting;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    xfire_fuzz::h5_phantom(data);
});
