//! How the `clawrun` program is linked (`build.rs`).

#![allow(clippy::unwrap_used)]

/// On Linux the program is a position-dependent executable (ELF type
/// `ET_EXEC`): its pointer tables are not relocated at load, so the pages a
/// waiting runner and its watcher keep stay shared (README, Benchmarks).
#[cfg(target_os = "linux")]
#[test]
fn the_program_is_linked_position_dependent() {
    use std::io::Read;
    let mut header = [0u8; 18];
    std::fs::File::open(crate::common::clawrun_bin())
        .and_then(|mut f| f.read_exact(&mut header))
        .unwrap();
    assert_eq!(&header[..4], b"\x7fELF", "not an ELF file");
    let e_type = u16::from_le_bytes([header[16], header[17]]);
    // ET_EXEC is 2; a position-independent executable is ET_DYN (3).
    assert_eq!(e_type, 2, "the clawrun program is not linked with -no-pie");
}
