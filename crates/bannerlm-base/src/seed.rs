//! SplitMix64 seed mixing: one well-spread 64-bit value from another, for deriving
//! independent seeds (per step, per stream, per item) from one user seed.

/// The SplitMix64 increment: 2^64 divided by the golden ratio, rounded to odd.
pub const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 finaliser (Stafford's variant 13): a bijective mix of all 64 bits, without
/// the increment. `mix64(0) == 0`; use [`splitmix64`] unless the input already carries the
/// increment.
///
/// ```
/// use bannerlm_base::{GOLDEN_GAMMA, mix64, splitmix64};
///
/// assert_eq!(mix64(0), 0);
/// assert_eq!(mix64(GOLDEN_GAMMA), splitmix64(0));
/// ```
pub const fn mix64(z: u64) -> u64 {
    let z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// SplitMix64 of `x`: [`mix64`] of `x + GOLDEN_GAMMA` (wrapping). The output of a SplitMix64
/// generator whose state was `x` before the step, so `splitmix64(seed)`,
/// `splitmix64(seed + GOLDEN_GAMMA)`, ... is the generator's stream.
///
/// ```
/// // The reference generator's first output for seed 0.
/// assert_eq!(bannerlm_base::splitmix64(0), 0xE220_A839_7B1D_CDAF);
/// ```
pub const fn splitmix64(x: u64) -> u64 {
    mix64(x.wrapping_add(GOLDEN_GAMMA))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known answers, computed with the copies this function replaced (the pipeline's sampler,
    /// scan-sim's `mix`, the trainer's `derive_seed`, lcs-fingerprint's `mix`).
    #[test]
    fn known_answers() {
        assert_eq!(splitmix64(0), 0xe220_a839_7b1d_cdaf);
        assert_eq!(splitmix64(1), 0x910a_2dec_8902_5cc1);
        assert_eq!(splitmix64(42), 0xbdd7_3226_2feb_6e95);
        assert_eq!(splitmix64(u64::MAX), 0xe4d9_7177_1b65_2c20);
        assert_eq!(mix64(0), 0);
        // The trainer's derive_seed(42, 4, 7).
        let z = 42u64
            .wrapping_add(4u64.wrapping_mul(GOLDEN_GAMMA))
            .wrapping_add(7u64.wrapping_mul(0xD1B5_4A32_D192_ED03));
        assert_eq!(mix64(z), 0xc9b6_01ac_ad5a_ca39);
        // lcs-fingerprint's mix(&[1, 2, 3]).
        let h = [1u64, 2, 3]
            .iter()
            .fold(GOLDEN_GAMMA, |h, &p| splitmix64(h ^ p));
        assert_eq!(h, 0x48cf_5028_b6df_10db);
        // A SplitMix64 generator seeded with 7: its first two outputs.
        assert_eq!(splitmix64(7), 0x63cb_e1e4_5932_0dd7);
        assert_eq!(
            splitmix64(7u64.wrapping_add(GOLDEN_GAMMA)),
            0x044c_3cd7_f43c_661c
        );
    }
}
