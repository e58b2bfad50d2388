//! Client subcommands: `kms create`, `get`, `locate`, `activate`, `encrypt`, `decrypt`, `sign`, `verify`,
//! `revoke`, `destroy`, `attributes`, `query`, each one KMIP 2.1 request over mutual TLS to a running
//! `kms serve` (the connection flags default to the server's, so next to it no flag is needed).
//!
//! Binary values (ciphertexts, IVs, tags, signatures, key material on stdout) are printed and read as hex.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use kms_kmip::message::enums::{
    CryptographicAlgorithm, CryptographicUsageMask, DigitalSignatureAlgorithm, KeyFormatType,
    NameType, ObjectType, QueryFunction, ResultStatus, RevocationReasonCode, ValidityIndicator,
};
use kms_kmip::message::operations::access::{GetAttributesRequest, GetRequest, LocateRequest};
use kms_kmip::message::operations::crypto::{
    DecryptRequest, EncryptRequest, SignRequest, SignatureVerifyRequest,
};
use kms_kmip::message::operations::lifecycle::{
    CreateKeyPairRequest, CreateRequest, IdentifierPayload, RevokeRequest,
};
use kms_kmip::message::operations::server::QueryRequest;
use kms_kmip::message::types::{
    CryptographicDomainParameters, CryptographicParameters, Name, RevocationReason,
};
use kms_kmip::message::{
    Attribute, Attributes, KeyMaterial, KeyValue, Object, RequestBatchItem, RequestHeader,
    RequestMessage, RequestPayload, ResponseMessage, ResponsePayload, SecretBytes,
    UniqueIdentifier,
};
use kms_kmip::tags::Version;

use super::connection::ConnectionArgs;

/// The client subcommands (flattened into `kms`).
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Create a symmetric key (AES, HMAC) or, with --key-pair, an RSA or EC key pair; prints the id(s).
    Create(CreateArgs),
    /// Get a key's value (hex on stdout, or --out FILE).
    Get(GetArgs),
    /// List the ids of the objects matching the filters.
    Locate(LocateArgs),
    /// Activate an object.
    Activate(IdArgs),
    /// Encrypt with AES-GCM (prints data, IV and tag in hex).
    Encrypt(EncryptArgs),
    /// Decrypt AES-GCM output (the plaintext goes to stdout).
    Decrypt(DecryptArgs),
    /// Sign with a private key: RSA PKCS#1 v1.5, ECDSA or DSA, with SHA-256 (prints the signature in hex).
    Sign(SignArgs),
    /// Verify an RSA, ECDSA or DSA signature with a public key (exit status 0 only when valid).
    Verify(VerifyArgs),
    /// Revoke an object.
    Revoke(RevokeArgs),
    /// Destroy an object.
    Destroy(IdArgs),
    /// Print an object's attributes.
    Attributes(IdArgs),
    /// Ask the server what it supports.
    Query(QueryArgs),
}

/// The algorithm of a new key.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Algorithm {
    /// AES (symmetric).
    Aes,
    /// HMAC-SHA256 (symmetric).
    HmacSha256,
    /// RSA key pair.
    Rsa,
    /// EC key pair (the length picks P-256 or P-384).
    Ec,
}

/// `kms create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Key algorithm.
    #[arg(long, value_enum, default_value = "aes")]
    algorithm: Algorithm,
    /// Length in bits (AES 128/192/256, RSA 2048+, EC 256/384).
    #[arg(long, default_value_t = 256)]
    length: i32,
    /// A Name for the key (the private key of a pair).
    #[arg(long)]
    name: Option<String>,
    /// Activate the new key(s) at once.
    #[arg(long)]
    activate: bool,
    #[command(flatten)]
    connection: ConnectionArgs,
}

/// The Key Format Type Get asks for.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    /// The server's default: the format a registered key came in; otherwise Raw (symmetric keys), PKCS#1 (RSA
    /// keys), PKCS#8 (other private keys), X.509 SubjectPublicKeyInfo (other public keys).
    Default,
    /// Raw bytes of a symmetric key.
    Raw,
    /// PKCS#1 (RSA keys).
    Pkcs1,
    /// PKCS#8 (private keys).
    Pkcs8,
    /// X.509 SubjectPublicKeyInfo (public keys).
    X509,
}

/// `kms get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// Unique Identifier.
    id: String,
    /// Key format.
    #[arg(long, value_enum, default_value = "default")]
    format: Format,
    /// Write the key value to this file (mode 0600) instead of hex on stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    #[command(flatten)]
    connection: ConnectionArgs,
}

/// `kms locate`.
#[derive(Debug, Args)]
pub struct LocateArgs {
    /// Only objects with this Name.
    #[arg(long)]
    name: Option<String>,
    /// Skip this many matches.
    #[arg(long)]
    offset: Option<i32>,
    /// At most this many ids.
    #[arg(long)]
    max: Option<i32>,
    #[command(flatten)]
    connection: ConnectionArgs,
}

/// Subcommands taking one id.
#[derive(Debug, Args)]
pub struct IdArgs {
    /// Unique Identifier.
    id: String,
    #[command(flatten)]
    connection: ConnectionArgs,
}

/// `kms encrypt`.
#[derive(Debug, Args)]
pub struct EncryptArgs {
    /// Unique Identifier of an AES key.
    id: String,
    /// The plaintext (UTF-8 text).
    #[arg(long)]
    data: String,
    /// Additional authenticated data (text).
    #[arg(long, default_value = "")]
    aad: String,
    #[command(flatten)]
    connection: ConnectionArgs,
}

/// `kms decrypt`.
#[derive(Debug, Args)]
pub struct DecryptArgs {
    /// Unique Identifier of the AES key.
    id: String,
    /// Ciphertext, hex.
    #[arg(long)]
    data: String,
    /// IV, hex.
    #[arg(long)]
    iv: String,
    /// Authentication tag, hex.
    #[arg(long)]
    tag: String,
    /// Additional authenticated data (text).
    #[arg(long, default_value = "")]
    aad: String,
    #[command(flatten)]
    connection: ConnectionArgs,
}

/// `kms sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// Unique Identifier of the private key.
    id: String,
    /// The message (UTF-8 text).
    #[arg(long)]
    data: String,
    #[command(flatten)]
    algorithm: SignatureAlgorithmArgs,
    #[command(flatten)]
    connection: ConnectionArgs,
}

/// `kms verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Unique Identifier of the public key.
    id: String,
    /// The message (UTF-8 text).
    #[arg(long)]
    data: String,
    /// The signature, hex.
    #[arg(long)]
    signature: String,
    #[command(flatten)]
    algorithm: SignatureAlgorithmArgs,
    #[command(flatten)]
    connection: ConnectionArgs,
}

/// The Digital Signature Algorithm of `kms sign` and `kms verify`: always SHA-256, RSA PKCS#1 v1.5 unless a
/// flag names the key's algorithm.
#[derive(Debug, Args)]
pub struct SignatureAlgorithmArgs {
    /// ECDSA with SHA-256 (EC keys) instead of RSA PKCS#1 v1.5 with SHA-256.
    #[arg(long, conflicts_with = "dsa")]
    ecdsa: bool,
    /// DSA with SHA-256 (DSA keys) instead of RSA PKCS#1 v1.5 with SHA-256.
    #[arg(long)]
    dsa: bool,
}

impl SignatureAlgorithmArgs {
    /// The Cryptographic Parameters naming the algorithm, for Sign and Signature Verify alike.
    fn cryptographic_parameters(&self) -> CryptographicParameters {
        let algorithm = if self.dsa {
            DigitalSignatureAlgorithm::DSA_WITH_SHA256
        } else if self.ecdsa {
            DigitalSignatureAlgorithm::ECDSA_WITH_SHA256
        } else {
            DigitalSignatureAlgorithm::SHA_256_WITH_RSA_ENCRYPTION
        };
        CryptographicParameters {
            digital_signature_algorithm: Some(algorithm),
            ..Default::default()
        }
    }
}

/// `kms revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// Unique Identifier.
    id: String,
    /// The key was compromised (otherwise: cessation of operation).
    #[arg(long)]
    compromised: bool,
    #[command(flatten)]
    connection: ConnectionArgs,
}

/// `kms query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    connection: ConnectionArgs,
}

/// Runs a client subcommand.
///
/// # Errors
///
/// When the server cannot be reached, answers with a failure, or the arguments are invalid.
pub fn run(command: ClientCommand) -> anyhow::Result<()> {
    match command {
        ClientCommand::Create(a) => create(a),
        ClientCommand::Get(a) => get(a),
        ClientCommand::Locate(a) => {
            let mut attributes = Vec::new();
            if let Some(n) = a.name {
                attributes.push(name(n));
            }
            let r = call(
                &a.connection,
                RequestPayload::Locate(LocateRequest {
                    offset_items: a.offset,
                    maximum_items: a.max,
                    attributes: Some(Attributes::new(attributes)),
                    ..Default::default()
                }),
            )?;
            let ResponsePayload::Locate(l) = r else {
                bail!("unexpected response")
            };
            for id in &l.unique_identifiers {
                println!("{}", show_id(id));
            }
            Ok(())
        }
        ClientCommand::Activate(a) => {
            call(&a.connection, RequestPayload::Activate(identifier(&a.id)))?;
            Ok(())
        }
        ClientCommand::Encrypt(a) => {
            let r = call(
                &a.connection,
                RequestPayload::Encrypt(EncryptRequest {
                    unique_identifier: Some(a.id.as_str().into()),
                    data: Some(SecretBytes::new(a.data.into_bytes())),
                    authenticated_encryption_additional_data: Some(a.aad.into_bytes()),
                    ..Default::default()
                }),
            )?;
            let ResponsePayload::Encrypt(e) = r else {
                bail!("unexpected response")
            };
            println!("data={}", hex_encode(e.data.unwrap_or_default()));
            println!("iv={}", hex_encode(e.iv_counter_nonce.unwrap_or_default()));
            println!(
                "tag={}",
                hex_encode(e.authenticated_encryption_tag.unwrap_or_default())
            );
            Ok(())
        }
        ClientCommand::Decrypt(a) => {
            let r = call(
                &a.connection,
                RequestPayload::Decrypt(DecryptRequest {
                    unique_identifier: Some(a.id.as_str().into()),
                    data: Some(hex_decode(&a.data).context("--data is not hex")?),
                    iv_counter_nonce: Some(hex_decode(&a.iv).context("--iv is not hex")?),
                    authenticated_encryption_tag: Some(
                        hex_decode(&a.tag).context("--tag is not hex")?,
                    ),
                    authenticated_encryption_additional_data: Some(a.aad.into_bytes()),
                    ..Default::default()
                }),
            )?;
            let ResponsePayload::Decrypt(d) = r else {
                bail!("unexpected response")
            };
            let data = d.data.unwrap_or_default();
            std::io::stdout().write_all(data.expose())?;
            Ok(())
        }
        ClientCommand::Sign(a) => {
            let r = call(
                &a.connection,
                RequestPayload::Sign(SignRequest {
                    unique_identifier: Some(a.id.as_str().into()),
                    cryptographic_parameters: Some(a.algorithm.cryptographic_parameters()),
                    data: Some(a.data.into_bytes()),
                    ..Default::default()
                }),
            )?;
            let ResponsePayload::Sign(s) = r else {
                bail!("unexpected response")
            };
            println!("{}", hex_encode(s.signature_data.unwrap_or_default()));
            Ok(())
        }
        ClientCommand::Verify(a) => {
            let r = call(
                &a.connection,
                RequestPayload::SignatureVerify(SignatureVerifyRequest {
                    unique_identifier: Some(a.id.as_str().into()),
                    cryptographic_parameters: Some(a.algorithm.cryptographic_parameters()),
                    data: Some(a.data.into_bytes()),
                    signature_data: Some(
                        hex_decode(&a.signature).context("--signature is not hex")?,
                    ),
                    ..Default::default()
                }),
            )?;
            let ResponsePayload::SignatureVerify(v) = r else {
                bail!("unexpected response")
            };
            if v.validity_indicator == ValidityIndicator::VALID {
                println!("valid");
                Ok(())
            } else {
                bail!("signature not valid")
            }
        }
        ClientCommand::Revoke(a) => {
            let code = if a.compromised {
                RevocationReasonCode::KEY_COMPROMISE
            } else {
                RevocationReasonCode::CESSATION_OF_OPERATION
            };
            call(
                &a.connection,
                RequestPayload::Revoke(RevokeRequest {
                    unique_identifier: Some(a.id.as_str().into()),
                    revocation_reason: RevocationReason {
                        revocation_reason_code: code,
                        ..Default::default()
                    },
                    compromise_occurrence_date: a.compromised.then(|| {
                        kms_kmip::message::DateTime(
                            std::time::SystemTime::now()
                                .duration_since(std::time::UNIX_EPOCH)
                                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0)),
                        )
                    }),
                    ..Default::default()
                }),
            )?;
            Ok(())
        }
        ClientCommand::Destroy(a) => {
            call(&a.connection, RequestPayload::Destroy(identifier(&a.id)))?;
            Ok(())
        }
        ClientCommand::Attributes(a) => {
            let r = call(
                &a.connection,
                RequestPayload::GetAttributes(GetAttributesRequest {
                    unique_identifier: Some(a.id.as_str().into()),
                    ..Default::default()
                }),
            )?;
            let ResponsePayload::GetAttributes(g) = r else {
                bail!("unexpected response")
            };
            for attribute in g.attributes.map(|a| a.attributes).unwrap_or_default() {
                println!("{attribute:?}");
            }
            Ok(())
        }
        ClientCommand::Query(a) => {
            let r = call(
                &a.connection,
                RequestPayload::Query(QueryRequest {
                    query_functions: vec![
                        QueryFunction::QUERY_OPERATIONS,
                        QueryFunction::QUERY_OBJECTS,
                        QueryFunction::QUERY_SERVER_INFORMATION,
                    ],
                    ..Default::default()
                }),
            )?;
            let ResponsePayload::Query(q) = r else {
                bail!("unexpected response")
            };
            if let Some(vendor) = &q.vendor_identification {
                println!("vendor: {vendor}");
            }
            if let Some(info) = &q.server_information {
                println!("server: {info:?}");
            }
            for op in &q.operations {
                println!("operation: {}", op.name().unwrap_or("?"));
            }
            for t in &q.object_types {
                println!("object type: {}", t.name().unwrap_or("?"));
            }
            Ok(())
        }
    }
}

fn create(a: CreateArgs) -> anyhow::Result<()> {
    let symmetric = |algorithm, mask| {
        let mut attributes = vec![
            Attribute::CryptographicAlgorithm(algorithm),
            Attribute::CryptographicLength(a.length),
            Attribute::CryptographicUsageMask(mask),
        ];
        if let Some(n) = &a.name {
            attributes.push(name(n.clone()));
        }
        RequestPayload::Create(CreateRequest {
            object_type: ObjectType::SYMMETRIC_KEY,
            attributes: Attributes::new(attributes),
            ..Default::default()
        })
    };
    let pair = |common: Vec<Attribute>| {
        let mut private = vec![Attribute::CryptographicUsageMask(
            CryptographicUsageMask::SIGN,
        )];
        if let Some(n) = &a.name {
            private.push(name(n.clone()));
        }
        RequestPayload::CreateKeyPair(CreateKeyPairRequest {
            common_attributes: Some(Attributes::new(common)),
            private_key_attributes: Some(Attributes::new(private)),
            public_key_attributes: Some(Attributes::new(vec![Attribute::CryptographicUsageMask(
                CryptographicUsageMask::VERIFY,
            )])),
            ..Default::default()
        })
    };
    let request = match a.algorithm {
        Algorithm::Aes => symmetric(
            CryptographicAlgorithm::AES,
            CryptographicUsageMask::ENCRYPT | CryptographicUsageMask::DECRYPT,
        ),
        Algorithm::HmacSha256 => symmetric(
            CryptographicAlgorithm::HMAC_SHA256,
            CryptographicUsageMask::MAC_GENERATE | CryptographicUsageMask::MAC_VERIFY,
        ),
        Algorithm::Rsa => pair(vec![
            Attribute::CryptographicAlgorithm(CryptographicAlgorithm::RSA),
            Attribute::CryptographicLength(a.length),
        ]),
        Algorithm::Ec => pair(vec![
            Attribute::CryptographicAlgorithm(CryptographicAlgorithm::EC),
            Attribute::CryptographicDomainParameters(CryptographicDomainParameters {
                recommended_curve: Some(match a.length {
                    256 => kms_kmip::message::enums::RecommendedCurve::P_256,
                    384 => kms_kmip::message::enums::RecommendedCurve::P_384,
                    other => bail!("EC keys are 256 or 384 bits, not {other}"),
                }),
                ..Default::default()
            }),
        ]),
    };
    let ids = match call(&a.connection, request)? {
        ResponsePayload::Create(c) => vec![show_id(&c.unique_identifier)],
        ResponsePayload::CreateKeyPair(p) => vec![
            show_id(&p.private_key_unique_identifier),
            show_id(&p.public_key_unique_identifier),
        ],
        _ => bail!("unexpected response"),
    };
    if a.activate {
        for id in &ids {
            call(&a.connection, RequestPayload::Activate(identifier(id)))?;
        }
    }
    for id in ids {
        println!("{id}");
    }
    Ok(())
}

fn get(a: GetArgs) -> anyhow::Result<()> {
    let key_format_type = match a.format {
        Format::Default => None,
        Format::Raw => Some(KeyFormatType::RAW),
        Format::Pkcs1 => Some(KeyFormatType::PKCS_1),
        Format::Pkcs8 => Some(KeyFormatType::PKCS_8),
        Format::X509 => Some(KeyFormatType::X_509),
    };
    let r = call(
        &a.connection,
        RequestPayload::Get(GetRequest {
            unique_identifier: Some(a.id.as_str().into()),
            key_format_type,
            ..Default::default()
        }),
    )?;
    let ResponsePayload::Get(g) = r else {
        bail!("unexpected response")
    };
    let bytes: zeroize::Zeroizing<Vec<u8>> = match g.object.as_deref() {
        Some(Object::Certificate(c)) => zeroize::Zeroizing::new(c.certificate_value.clone()),
        Some(Object::OpaqueObject(o)) => zeroize::Zeroizing::new(o.opaque_data_value.clone()),
        Some(
            Object::SymmetricKey(kms_kmip::message::objects::SymmetricKey { key_block, .. })
            | Object::PrivateKey(kms_kmip::message::objects::PrivateKey { key_block, .. })
            | Object::PublicKey(kms_kmip::message::objects::PublicKey { key_block, .. })
            | Object::SecretData(kms_kmip::message::objects::SecretData { key_block, .. }),
        ) => match &key_block.key_value {
            Some(KeyValue::Plain {
                key_material: KeyMaterial::Bytes(b),
                ..
            }) => b.0.clone(),
            _ => bail!("the key value is not in a byte format"),
        },
        _ => bail!("unexpected object"),
    };
    match a.out {
        Some(path) => write_private(&path, &bytes)?,
        None => println!("{}", hex_encode(&*bytes)),
    }
    Ok(())
}

fn write_private(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)?;
    Ok(())
}

fn name(value: String) -> Attribute {
    Attribute::Name(Name {
        name_value: value,
        name_type: NameType::UNINTERPRETED_TEXT_STRING,
        ..Default::default()
    })
}

fn identifier(id: &str) -> IdentifierPayload {
    IdentifierPayload {
        unique_identifier: Some(id.into()),
        ..Default::default()
    }
}

fn show_id(id: &UniqueIdentifier) -> String {
    id.as_str().map_or_else(|| format!("{id:?}"), str::to_owned)
}

/// Sends one request and returns its payload, or the server's failure as an error.
fn call(connection: &ConnectionArgs, payload: RequestPayload) -> anyhow::Result<ResponsePayload> {
    let request = RequestMessage {
        header: RequestHeader {
            protocol_version: Version::V2_1.into(),
            batch_count: 1,
            ..Default::default()
        },
        batch_items: vec![RequestBatchItem::new(payload)?],
    };
    let mut client = connection.kmip_client()?;
    let response = client.request(&request.to_bytes()?)?;
    let _ = client.close();
    let response = ResponseMessage::from_bytes(&response).context("decoding the response")?;
    let item = response
        .batch_items
        .into_iter()
        .next()
        .context("empty response")?;
    if item.result_status != ResultStatus::SUCCESS {
        bail!(
            "{}: {}",
            item.result_reason
                .and_then(|r| r.name())
                .unwrap_or("failed"),
            item.result_message.unwrap_or_default()
        );
    }
    item.payload.context("response without a payload")
}

fn hex_encode(bytes: impl AsRef<[u8]>) -> String {
    use std::fmt::Write as _;
    bytes.as_ref().iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn hex_decode(text: &str) -> anyhow::Result<Vec<u8>> {
    let text = text.trim();
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        bail!("odd length or non-ASCII");
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).map_err(anyhow::Error::from))
        .collect()
}
