#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::ExitCode;

use clap::Parser;
use portcullis::cli::{run, Cli};

#[actix_web::main]
async fn main() -> ExitCode {
    tune_allocator();
    private_umask();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Everything this process creates (the data directory, the database and its -wal/-shm files,
/// the master key, mail files) is for its owner only; the code asks for owner-only modes as
/// well, the umask covers what it does not know about.
fn private_umask() {
    #[cfg(unix)]
    // SAFETY: umask only sets the process's file creation mask; it cannot fail. No other thread
    // exists yet, so no file is being created with the old mask meanwhile.
    unsafe {
        libc::umask(0o077);
    }
}

/// glibc keeps freed memory for reuse: a 16 MiB scrypt buffer freed on one of many blocking
/// threads stays resident in that thread's arena, and after the first one glibc stops using
/// mmap for such sizes at all. A fixed mmap threshold gives large buffers back to the system
/// when freed, and two arenas bound the per-thread copies (bench/ measures the resident memory).
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only adjusts allocator parameters and takes glibc's own locks; an
    // unsupported value is rejected by returning 0, which leaves the defaults in place.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
