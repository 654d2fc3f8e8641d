//! The `teller` binary: parse the command line, run it, turn failure into exit code 1.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc rather than the C library's malloc: under load, glibc's `malloc`, `free` and their
/// chunk merging were about a third of `teller serve`'s own CPU time. See BENCHMARKS.md, "An
/// allocator without huge pages".
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    without_huge_pages();
    let cli = teller::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(teller::cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // `{:#}` prints the context chain on one line; no error in it carries a secret.
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Turns transparent huge pages off for this process. A huge page is 2 MiB of memory where a
/// page is 4 KiB: where the kernel gives them (always, or where asked), mimalloc's mostly empty
/// areas count whole in the resident set, and `teller serve` held 70 MiB at 1,000 msg/s instead
/// of 40. If the kernel refuses, only memory is at stake, so teller runs on.
fn without_huge_pages() {
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
}
