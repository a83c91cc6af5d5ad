//! Arbitrary identifiers: normalization never panics and is idempotent; check digits and
//! pseudonyms accept anything.
#![no_main]

use libfuzzer_sys::fuzz_target;
use outcomes::pseudonym::{self, Domain, Key};

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let once = pseudonym::normalize(raw);
    assert_eq!(
        pseudonym::normalize(&once),
        once,
        "normalization is idempotent"
    );
    let _ = pseudonym::is_valid_egn(&once) || pseudonym::is_valid_lnch(&once);
    let key = Key::from_bytes([7; 32]);
    let p = key.pseudonymizer();
    assert_eq!(
        p.pseudonym(Domain::Child, &once),
        p.pseudonym(Domain::Child, &pseudonym::normalize(&once))
    );
    let _ = Key::parse(raw);
});
