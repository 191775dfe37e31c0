//! The `clawrun` binary: everything it does is the library's `cli` module
//! (built with the default `cli` feature); see README "Exit codes".

fn main() -> std::process::ExitCode {
    clawrun::cli::main()
}
