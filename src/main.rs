//! The `scimsync` command.

fn main() -> std::process::ExitCode {
    scimsync::cli::main()
}
