//! Any text as a flow file: the compiler reports problems with a place, and never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let report = teller::flows::check::check_sources_with(&[("fuzz.yaml".into(), text.to_owned())], &teller::bank::actions::declared());
    for diagnostic in &report.diagnostics {
        assert!(!diagnostic.to_string().is_empty());
    }
    // Alongside the baseline, as an admin's draft would be compiled.
    let mut files = teller::flows::baseline();
    files.push(("zz_fuzz.yaml".into(), text.to_owned()));
    let _ = teller::flows::check::compile(&files, &teller::bank::actions::declared());
});
