//! Link the `clawrun` program as a position-dependent executable.
//!
//! A waiting run is two processes (the runner and its crash watcher) that may
//! wait for hours, and what each costs on its own is mostly the pages the
//! dynamic loader writes at start: in a position-independent executable every
//! pointer in `.data.rel.ro` (vtables, panic locations, string tables: about
//! 330 KiB here) is relocated at load, so each process keeps a private copy.
//! Linked at a fixed address those pages stay clean, shared with every other
//! clawrun process and the page cache (`benches/overhead.sh` measures it).
//! The library and the tests are unchanged; only the binary's link differs.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    // GNU and musl Linux toolchains link with cc, which takes -no-pie.
    if os == "linux" && matches!(env.as_str(), "gnu" | "musl") {
        println!("cargo:rustc-link-arg-bin=clawrun=-no-pie");
    }
}
