//! Attestation against real swtpm processes: credential activation and quotes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use kms_tpm::TpmError;
use kms_tpm::attestation::{
    AkPublic, CredentialChallenge, EkPublic, PcrValue, VerificationError, make_credential,
    verify_quote,
};

fn rejected(r: Result<impl std::fmt::Debug, TpmError>) -> VerificationError {
    match r {
        Err(TpmError::Verification(v)) => v,
        other => panic!("expected a verification error, got {other:?}"),
    }
}

#[test]
fn credential_activation_binds_the_ak_to_the_ek() {
    let tpm = common::shared();
    // Device: EK and AK public areas go to the service.
    let endorsement = tpm.endorsement_key().unwrap();
    assert!(
        endorsement.certificate.is_none(),
        "unmanufactured swtpm has no EK certificate"
    );
    assert_eq!(
        tpm.endorsement_key().unwrap().public,
        endorsement.public,
        "the EK is deterministic"
    );
    let ak = tpm.create_attestation_key().unwrap();
    let ak_public = ak.public().unwrap();

    // Service: parse what came over the wire, check the AK, make the challenge.
    let ek = EkPublic::from_public_area(endorsement.public.public_area()).unwrap();
    let ak_checked = AkPublic::from_public_area(ak_public.public_area()).unwrap();
    let secret = [0x42u8; 32];
    let challenge = make_credential(&ek, &ak_checked.name().unwrap(), &secret).unwrap();

    // Device answers; the service compares.
    let answer = tpm.activate_credential(&ak, &challenge).unwrap();
    assert_eq!(&answer[..], &secret);
    assert_eq!(tpm.stray_objects().unwrap(), 0);

    // A challenge bound to another name (another AK) does not open with this AK.
    let other_ak = tpm.create_attestation_key().unwrap();
    let challenge =
        make_credential(&ek, &other_ak.public().unwrap().name().unwrap(), &secret).unwrap();
    assert!(tpm.activate_credential(&ak, &challenge).is_err());
    assert_eq!(tpm.stray_objects().unwrap(), 0);

    // A tampered challenge fails the TPM's integrity check.
    let mut challenge = make_credential(&ek, &ak_checked.name().unwrap(), &secret).unwrap();
    challenge.id_object[5] ^= 1;
    assert!(tpm.activate_credential(&ak, &challenge).is_err());
    // Oversized or empty input.
    let huge = CredentialChallenge {
        id_object: vec![0; 70_000],
        encrypted_secret: vec![],
    };
    assert!(matches!(
        tpm.activate_credential(&ak, &huge),
        Err(TpmError::InvalidInput(_))
    ));
    assert!(make_credential(&ek, &ak_checked.name().unwrap(), &[]).is_err());
    assert!(make_credential(&ek, &ak_checked.name().unwrap(), &[0; 33]).is_err());
    assert!(make_credential(&ek, b"short", &secret).is_err());
    assert_eq!(tpm.stray_objects().unwrap(), 0);
}

#[test]
fn credential_activation_fails_on_another_tpm() {
    let dir = tempfile::tempdir().unwrap();
    let a = common::Swtpm::start(&dir.path().join("a"));
    let b = common::Swtpm::start(&dir.path().join("b"));
    let tpm_a = a.connect();
    let tpm_b = b.connect();
    let ek_a = tpm_a.endorsement_key().unwrap().public;
    let ek_b = tpm_b.endorsement_key().unwrap().public;
    assert_ne!(ek_a, ek_b);
    let ak_a = tpm_a.create_attestation_key().unwrap();
    let name = ak_a.public().unwrap().name().unwrap();
    // The service believes device A's AK sits with EK B: A cannot answer.
    let challenge = make_credential(&ek_b, &name, b"nonce for B").unwrap();
    assert!(tpm_a.activate_credential(&ak_a, &challenge).is_err());
    // B does not hold A's AK at all: its blob does not load there.
    assert!(matches!(
        tpm_b.activate_credential(&ak_a, &challenge),
        Err(TpmError::ForeignBlob)
    ));
    // And with the right EK, A answers.
    let challenge = make_credential(&ek_a, &name, b"nonce for A").unwrap();
    assert_eq!(
        &tpm_a.activate_credential(&ak_a, &challenge).unwrap()[..],
        b"nonce for A"
    );
    assert_eq!(tpm_a.stray_objects().unwrap(), 0);
    assert_eq!(tpm_b.stray_objects().unwrap(), 0);
}

#[test]
fn quotes_verify_and_fail_on_wrong_nonce_or_changed_pcr() {
    let tpm = common::shared();
    let ak = tpm.create_attestation_key().unwrap();
    let ak_public = AkPublic::from_public_area(ak.public().unwrap().public_area()).unwrap();
    // PCR 16 (debug, extendable at locality 0) is this test's alone; 0 and 7 as a boot policy would use them.
    let pcrs = [0u8, 7, 16];
    tpm.extend_pcr(16, [0x11; 32]).unwrap();
    let golden: Vec<PcrValue> = tpm.read_pcrs(&pcrs).unwrap();

    let nonce = tpm.random(32).unwrap();
    let quote = tpm.quote(&ak, &nonce, &pcrs).unwrap();
    let verified = verify_quote(&ak_public, &quote, &nonce, Some(&golden)).unwrap();
    assert_eq!(verified.pcrs, golden);
    assert_eq!(tpm.stray_objects().unwrap(), 0);

    // A replayed quote (another nonce).
    let other = tpm.random(32).unwrap();
    assert_eq!(
        rejected(verify_quote(&ak_public, &quote, &other, Some(&golden))),
        VerificationError::NonceMismatch
    );
    // A tampered attestation structure.
    let mut tampered = quote.clone();
    let n = tampered.attest.len();
    tampered.attest[n - 1] ^= 1;
    assert_eq!(
        rejected(verify_quote(&ak_public, &tampered, &nonce, None)),
        VerificationError::BadSignature
    );
    // PCR values reported that are not the quoted ones.
    let mut lying = quote.clone();
    lying.pcrs[2].value[0] ^= 1;
    assert_eq!(
        rejected(verify_quote(&ak_public, &lying, &nonce, None)),
        VerificationError::PcrDigestMismatch
    );
    let mut fewer = quote.clone();
    fewer.pcrs.pop();
    assert_eq!(
        rejected(verify_quote(&ak_public, &fewer, &nonce, None)),
        VerificationError::PcrSelectionMismatch
    );

    // The PCR changes (something else booted): a fresh quote verifies as a quote but not against the golden values.
    tpm.extend_pcr(16, [0x22; 32]).unwrap();
    let nonce = tpm.random(32).unwrap();
    let quote = tpm.quote(&ak, &nonce, &pcrs).unwrap();
    verify_quote(&ak_public, &quote, &nonce, None).unwrap();
    assert_eq!(
        rejected(verify_quote(&ak_public, &quote, &nonce, Some(&golden))),
        VerificationError::PcrValueMismatch(16)
    );

    // A quote checked with another AK.
    let other_ak = AkPublic::from_public_area(
        tpm.create_attestation_key()
            .unwrap()
            .public()
            .unwrap()
            .public_area(),
    )
    .unwrap();
    assert_eq!(
        rejected(verify_quote(&other_ak, &quote, &nonce, None)),
        VerificationError::BadSignature
    );
    // Garbage evidence.
    let junk = kms_tpm::attestation::Quote {
        attest: vec![1, 2, 3],
        signature: vec![4, 5],
        pcrs: vec![],
    };
    assert!(matches!(
        rejected(verify_quote(&ak_public, &junk, &nonce, None)),
        VerificationError::Malformed(_)
    ));
    assert!(matches!(
        tpm.quote(&ak, &[0; 65], &pcrs),
        Err(TpmError::InvalidInput(_))
    ));
    assert!(matches!(
        tpm.quote(&ak, &nonce, &[24]),
        Err(TpmError::InvalidInput(_))
    ));
    assert_eq!(tpm.stray_objects().unwrap(), 0);
}

#[test]
fn only_attestation_keys_pass_the_ak_check() {
    let tpm = common::shared();
    // The EK is restricted but a decryption key: not an AK.
    let ek = tpm.endorsement_key().unwrap().public;
    assert!(matches!(
        rejected(AkPublic::from_public_area(ek.public_area())),
        VerificationError::NotAnAttestationKey(_)
    ));
    assert!(matches!(
        rejected(AkPublic::from_public_area(&[0, 1, 2])),
        VerificationError::Malformed(_)
    ));
    assert!(matches!(
        rejected(EkPublic::from_public_area(&[0xff; 10])),
        VerificationError::Malformed(_)
    ));
}
