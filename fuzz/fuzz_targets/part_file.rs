//! libFuzzer target `part_file` (see `xfire_fuzz::part_file`).
#![no_main]

#[global_allocator]
static ALLOC: xfire_fuzz::alloc::Counting = xfire_fuzz::alloc::Counting;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    xfire_fuzz::part_file(data);
});
