//! SHA-256's compression function on up to three independent blocks at once, for the
//! pseudonyms of one row (child, family, case). With the x86 SHA extensions one block's 64
//! rounds are a chain of dependent instructions that leaves the unit idle most cycles; the
//! blocks of different identifiers do not depend on each other, so their rounds are
//! interleaved. Elsewhere, or without the extensions, each block goes through `sha2`.
//! The result is `sha2::compress256`'s, block for block (tested below).

/// Compress `blocks[i]` into `states[i]`, for each lane `i`.
pub(super) fn compress<const N: usize>(states: &mut [[u32; 8]; N], blocks: &[[u8; 64]; N]) {
    #[cfg(target_arch = "x86_64")]
    if has_sha_extensions() {
        // SAFETY: the CPU has the features `shani::compress` is compiled for (checked by
        // `has_sha_extensions`; SSE2 is part of every x86_64 CPU).
        unsafe { shani::compress(states, blocks) };
        return;
    }
    compress_one_by_one(states, blocks);
}

/// Whether this CPU has the SHA extensions and the SSE levels their code uses (a cached
/// lookup after the first call).
#[cfg(target_arch = "x86_64")]
fn has_sha_extensions() -> bool {
    std::arch::is_x86_feature_detected!("sha")
        && std::arch::is_x86_feature_detected!("sse4.1")
        && std::arch::is_x86_feature_detected!("ssse3")
}

fn compress_one_by_one<const N: usize>(states: &mut [[u32; 8]; N], blocks: &[[u8; 64]; N]) {
    for (state, block) in states.iter_mut().zip(blocks) {
        sha2::compress256(state, &[(*block).into()]);
    }
}

#[cfg(target_arch = "x86_64")]
mod shani {
    use std::arch::x86_64::*;

    /// SHA-256's round constants (FIPS 180-4, 4.2.2).
    static K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];

    /// The same instructions as `sha2`'s x86 backend, each step done for every lane before
    /// the next, so that the lanes' rounds overlap.
    ///
    /// # Safety
    /// The CPU must have the `sha`, `ssse3` and `sse4.1` features (and `sse2`, which every
    /// x86_64 CPU has).
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    pub(super) unsafe fn compress<const N: usize>(
        states: &mut [[u32; 8]; N],
        blocks: &[[u8; 64]; N],
    ) {
        let byte_swap = _mm_set_epi64x(
            0x0C0D_0E0F_0809_0A0Bu64 as i64,
            0x0405_0607_0001_0203u64 as i64,
        );
        let mut abef = [_mm_setzero_si128(); N];
        let mut cdgh = [_mm_setzero_si128(); N];
        // The last four groups of four message words, group `i` in slot `i % 4`.
        let mut words = [[_mm_setzero_si128(); 4]; N];
        for lane in 0..N {
            // SAFETY: a state is 32 bytes and a block 64; unaligned loads.
            unsafe {
                let state = states[lane].as_ptr().cast::<__m128i>();
                let dcba = _mm_loadu_si128(state);
                let efgh = _mm_loadu_si128(state.add(1));
                let cdab = _mm_shuffle_epi32(dcba, 0xB1);
                let efgh = _mm_shuffle_epi32(efgh, 0x1B);
                abef[lane] = _mm_alignr_epi8(cdab, efgh, 8);
                cdgh[lane] = _mm_blend_epi16(efgh, cdab, 0xF0);
                let block = blocks[lane].as_ptr().cast::<__m128i>();
                for (group, word) in words[lane].iter_mut().enumerate() {
                    *word = _mm_shuffle_epi8(_mm_loadu_si128(block.add(group)), byte_swap);
                }
            }
        }
        let (abef_start, cdgh_start) = (abef, cdgh);
        // Four rounds of every lane with message group `$group`, written out for each group:
        // in a loop over the groups the words' slots were indexed at run time and every word
        // went through memory; written out, the slots are constants (with three lanes some
        // words still spill, as 16 XMM registers do not hold them all).
        macro_rules! group {
            ($group:literal) => {
                // SAFETY: `$group * 4 + 4 <= 64`: four round constants in range; unaligned load.
                let k = unsafe { _mm_loadu_si128(K.as_ptr().add($group * 4).cast::<__m128i>()) };
                for lane in 0..N {
                    let w = &mut words[lane];
                    if $group >= 4 {
                        // The schedule: group `i` from groups `i - 4` to `i - 1`.
                        let (w4, w3, w2, w1) = (
                            w[$group % 4],
                            w[($group + 1) % 4],
                            w[($group + 2) % 4],
                            w[($group + 3) % 4],
                        );
                        let t =
                            _mm_add_epi32(_mm_sha256msg1_epu32(w4, w3), _mm_alignr_epi8(w1, w2, 4));
                        w[$group % 4] = _mm_sha256msg2_epu32(t, w1);
                    }
                    let t1 = _mm_add_epi32(w[$group % 4], k);
                    cdgh[lane] = _mm_sha256rnds2_epu32(cdgh[lane], abef[lane], t1);
                    let t2 = _mm_shuffle_epi32(t1, 0x0E);
                    abef[lane] = _mm_sha256rnds2_epu32(abef[lane], cdgh[lane], t2);
                }
            };
        }
        group!(0);
        group!(1);
        group!(2);
        group!(3);
        group!(4);
        group!(5);
        group!(6);
        group!(7);
        group!(8);
        group!(9);
        group!(10);
        group!(11);
        group!(12);
        group!(13);
        group!(14);
        group!(15);
        for lane in 0..N {
            let abef = _mm_add_epi32(abef[lane], abef_start[lane]);
            let cdgh = _mm_add_epi32(cdgh[lane], cdgh_start[lane]);
            let feba = _mm_shuffle_epi32(abef, 0x1B);
            let dchg = _mm_shuffle_epi32(cdgh, 0xB1);
            let dcba = _mm_blend_epi16(feba, dchg, 0xF0);
            let hgef = _mm_alignr_epi8(dchg, feba, 8);
            // SAFETY: a state is 32 bytes; unaligned stores.
            unsafe {
                let state = states[lane].as_mut_ptr().cast::<__m128i>();
                _mm_storeu_si128(state, dcba);
                _mm_storeu_si128(state.add(1), hgef);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn check<const N: usize>(
        states: [[u32; 8]; N],
        blocks: [[u8; 64]; N],
    ) -> Result<(), TestCaseError> {
        // The interleaved code itself: `compress` would fall back to `sha2` on a CPU without
        // the extensions, and compare it with itself.
        #[cfg(target_arch = "x86_64")]
        if has_sha_extensions() {
            let mut interleaved = states;
            // SAFETY: the CPU has the extensions (checked above).
            unsafe { shani::compress(&mut interleaved, &blocks) };
            let mut one_by_one = states;
            compress_one_by_one(&mut one_by_one, &blocks);
            prop_assert_eq!(interleaved, one_by_one);
            return Ok(());
        }
        eprintln!("no SHA extensions on this CPU: the interleaved rounds are not tested");
        let mut interleaved = states;
        compress(&mut interleaved, &blocks);
        let mut one_by_one = states;
        compress_one_by_one(&mut one_by_one, &blocks);
        prop_assert_eq!(interleaved, one_by_one);
        Ok(())
    }

    proptest! {
        #[test]
        fn interleaved_lanes_compress_as_sha2_does_block_by_block(
            states in any::<[[u32; 8]; 3]>(),
            blocks in proptest::collection::vec(any::<u8>(), 192),
        ) {
            let block = |i: usize| -> [u8; 64] { blocks[i * 64..(i + 1) * 64].try_into().unwrap() };
            check([states[0]], [block(0)])?;
            check([states[0], states[1]], [block(0), block(1)])?;
            check(states, [block(0), block(1), block(2)])?;
        }
    }

    #[test]
    fn the_empty_message_hashes_to_the_published_digest() {
        // FIPS 180-4's initial state and the padded empty message: SHA-256("") is
        // e3b0c442 98fc1c14 9afbf4c8 996fb924 27ae41e4 649b934c a495991b 7852b855.
        let mut block = [0u8; 64];
        block[0] = 0x80;
        let mut states = [super::super::SHA256_INITIAL; 2];
        compress(&mut states, &[block; 2]);
        for state in states {
            assert_eq!(
                state,
                [
                    0xe3b0c442, 0x98fc1c14, 0x9afbf4c8, 0x996fb924, 0x27ae41e4, 0x649b934c,
                    0xa495991b, 0x7852b855
                ]
            );
        }
    }
}
