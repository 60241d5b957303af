//! The AFL++ harness: `afl_target TARGET` runs the check of `TARGET` (see `mmcore_fuzz::TARGETS`)
//! on each input AFL gives it, in persistent mode.

fn main() {
    let name = std::env::args().nth(1).unwrap_or_default();
    let Some(check) = mmcore_fuzz::target(&name) else {
        let names: Vec<&str> = mmcore_fuzz::TARGETS.iter().map(|(n, _)| *n).collect();
        eprintln!("usage: afl_target TARGET (one of {})", names.join(", "));
        std::process::exit(2);
    };
    afl::fuzz!(|data: &[u8]| {
        check(data);
    });
}
