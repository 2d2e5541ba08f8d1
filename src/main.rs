//! The `webnet` binary: everything lives in the library; see `webnet::cli`.

fn main() -> std::process::ExitCode {
    webnet::cli::main()
}
