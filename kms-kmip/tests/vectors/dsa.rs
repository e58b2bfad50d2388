//! The DSA key (L, N) = (2048, 256) of `dsa-2048-256-openssl.txt` in this directory, for the tests of several
//! crates (each includes this file with `#[path]`).

/// P, Q, G, X, Y as the hex of KMIP Big Integers: the vector's magnitudes zero-extended to whole 8-byte words,
/// so that the sign bit is clear.
pub fn dsa_2048_256() -> [String; 5] {
    let text = include_str!("dsa-2048-256-openssl.txt");
    ["P", "Q", "G", "X", "Y"].map(|name| {
        let magnitude = text
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(" = "))
            .expect("component");
        let words = (magnitude.len() / 2 + 1).div_ceil(8);
        format!("{magnitude:0>width$}", width = words * 16)
    })
}
