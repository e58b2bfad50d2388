//! The whole platform-attestation exchange between a cloud service and a device with a TPM.
//!
//! `cargo run -p kms-tpm --example attestation -- swtpm:host=127.0.0.1,port=2321`
//! (or with KMS_TEST_TPM_TCTI set, as scripts/test does). Against real hardware: `device:/dev/tpmrm0`.
//!
//! Only bytes cross between the two sides: public areas, the challenge, the answer, the quote.

use kms_tpm::Tpm;
use kms_tpm::attestation::{AkPublic, EkPublic, make_credential, verify_quote};

/// PCRs a service would pin for a PC client: firmware (0) and Secure Boot policy (7).
const PCRS: [u8; 2] = [0, 7];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tcti = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("KMS_TEST_TPM_TCTI").ok())
        .ok_or("usage: attestation TCTI (e.g. swtpm:host=127.0.0.1,port=2321)")?;
    let device = Tpm::connect(&tcti)?;

    // 1. Device: enrol. It sends its EK (public area, and certificate when manufactured with one) and a fresh AK.
    let endorsement = device.endorsement_key()?;
    let ak = device.create_attestation_key()?;
    let ek_bytes = endorsement.public.public_area().to_vec();
    let ak_bytes = ak.public()?.public_area().to_vec();
    println!(
        "device: EK {} bytes ({}), AK {} bytes",
        ek_bytes.len(),
        if endorsement.certificate.is_some() {
            "with certificate"
        } else {
            "no EK certificate: enrol by key"
        },
        ak_bytes.len()
    );

    // 2. Service: check the AK's properties, then challenge: a secret only the TPM holding this EK, with this AK
    //    loaded, can recover (MakeCredential, in software).
    let ek = EkPublic::from_public_area(&ek_bytes)?;
    let ak_public = AkPublic::from_public_area(&ak_bytes)?;
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret)?;
    let challenge = make_credential(&ek, &ak_public.name()?, &secret)?;
    println!(
        "service: credential challenge ({} + {} bytes) for AK name {}",
        challenge.id_object.len(),
        challenge.encrypted_secret.len(),
        hex(&ak_public.name()?)
    );

    // 3. Device: ActivateCredential.
    let answer = device.activate_credential(&ak, &challenge)?;

    // 4. Service: the AK is in the same TPM as the EK.
    if answer[..] != secret {
        return Err("credential activation failed: the AK is not in that TPM".into());
    }
    println!("service: AK bound to the EK");

    // 5. Service: a fresh nonce; device: quote of the chosen PCRs; service: verify against the values it expects
    //    (here: the ones the first quote reported, as on first enrolment).
    let mut nonce = [0u8; 32];
    getrandom::fill(&mut nonce)?;
    let quote = device.quote(&ak, &nonce, &PCRS)?;
    let verified = verify_quote(&ak_public, &quote, &nonce, None)?;
    for p in &verified.pcrs {
        println!("service: PCR {:>2} = {}", p.index, hex(&p.value));
    }
    let golden = verified.pcrs.clone();
    getrandom::fill(&mut nonce)?;
    let quote = device.quote(&ak, &nonce, &PCRS)?;
    let verified = verify_quote(&ak_public, &quote, &nonce, Some(&golden))?;
    println!(
        "service: quote verified (reset count {}, clock {} ms); a replay with the old nonce is refused: {}",
        verified.reset_count,
        verified.clock,
        verify_quote(&ak_public, &quote, &[0u8; 32], Some(&golden)).is_err()
    );
    Ok(())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
