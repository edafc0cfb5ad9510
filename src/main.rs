//! The `scimsync` command.

/// See Cargo.toml (mimalloc): cheaper allocation, above all for memory freed by another
/// thread than the one that allocated it (the LDAP read and the mapping).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    scimsync::cli::main()
}
