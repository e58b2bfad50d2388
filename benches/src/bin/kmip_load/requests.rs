//! The requests of the load: one message per operation, built for the target's protocol version, on objects a
//! set-up connection created first.

use kms_kmip::message::enums::{
    BlockCipherMode, CryptographicAlgorithm, CryptographicUsageMask, DigitalSignatureAlgorithm,
    ObjectType, RecommendedCurve, ResultStatus,
};
use kms_kmip::message::operations::access::GetRequest;
use kms_kmip::message::operations::crypto::{EncryptRequest, SignRequest};
use kms_kmip::message::operations::lifecycle::{
    CreateKeyPairRequest, CreateRequest, IdentifierPayload,
};
use kms_kmip::message::types::{CryptographicDomainParameters, CryptographicParameters};
use kms_kmip::message::{
    Attribute, Attributes, RequestBatchItem, RequestHeader, RequestMessage, RequestPayload,
    ResponseMessage, ResponsePayload, SecretBytes, UniqueIdentifier,
};
use kms_kmip::tags::Version;
use kms_kmip::transport::client::AsyncKmipClient;
use kms_kmip::ttlv::{Document, Tag};

/// An operation of the load: Get, Encrypt (AES-256-GCM, 64 B), Sign (ECDSA P-256), Create (durable).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Get of one AES-256 key.
    Get,
    /// Encrypt of 64 bytes with AES-256-GCM (server-generated IV, 16-byte tag).
    Encrypt,
    /// Sign of 64 bytes with ECDSA P-256 / SHA-256.
    Sign,
    /// Create of a new AES-256 key (a durable write on a persistent store).
    Create,
}

impl Op {
    /// Every operation, in the order of the table.
    pub const ALL: [Self; 4] = [Self::Get, Self::Encrypt, Self::Sign, Self::Create];

    /// The name on the command line and in the table.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Encrypt => "encrypt",
            Self::Sign => "sign",
            Self::Create => "create",
        }
    }

    /// The table's description.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Get => "Get (AES-256 key)",
            Self::Encrypt => "Encrypt AES-256-GCM 64 B",
            Self::Sign => "Sign ECDSA P-256 64 B",
            Self::Create => "Create AES-256 (durable)",
        }
    }

    /// The operation named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.name() == name)
    }
}

/// A request message with one batch item in `version`.
pub fn message(version: Version, payload: RequestPayload) -> Result<Vec<u8>, String> {
    RequestMessage {
        header: RequestHeader {
            protocol_version: version.into(),
            batch_count: 1,
            ..Default::default()
        },
        batch_items: vec![RequestBatchItem::new(payload).map_err(|e| e.to_string())?],
    }
    .to_bytes()
    .map_err(|e| e.to_string())
}

fn create_aes() -> RequestPayload {
    RequestPayload::Create(CreateRequest {
        object_type: ObjectType::SYMMETRIC_KEY,
        attributes: Attributes::new(vec![
            Attribute::CryptographicAlgorithm(CryptographicAlgorithm::AES),
            Attribute::CryptographicLength(256),
            Attribute::CryptographicUsageMask(
                CryptographicUsageMask::ENCRYPT | CryptographicUsageMask::DECRYPT,
            ),
        ]),
        ..Default::default()
    })
}

fn create_ec_pair() -> RequestPayload {
    RequestPayload::CreateKeyPair(CreateKeyPairRequest {
        common_attributes: Some(Attributes::new(vec![
            Attribute::CryptographicAlgorithm(CryptographicAlgorithm::EC),
            Attribute::CryptographicLength(256),
            Attribute::CryptographicDomainParameters(CryptographicDomainParameters {
                recommended_curve: Some(RecommendedCurve::P_256),
                ..Default::default()
            }),
        ])),
        private_key_attributes: Some(Attributes::new(vec![Attribute::CryptographicUsageMask(
            CryptographicUsageMask::SIGN,
        )])),
        public_key_attributes: Some(Attributes::new(vec![Attribute::CryptographicUsageMask(
            CryptographicUsageMask::VERIFY,
        )])),
        ..Default::default()
    })
}

fn activate(id: UniqueIdentifier) -> RequestPayload {
    RequestPayload::Activate(IdentifierPayload {
        unique_identifier: Some(id),
        ..Default::default()
    })
}

/// Sends one request and returns the first batch item's payload, failing on anything but Success.
async fn setup_call(
    client: &mut AsyncKmipClient,
    version: Version,
    payload: RequestPayload,
) -> Result<ResponsePayload, String> {
    let response = client
        .request(&message(version, payload)?)
        .await
        .map_err(|e| e.to_string())?;
    let message = ResponseMessage::from_bytes(&response).map_err(|e| e.to_string())?;
    let item = message
        .batch_items
        .into_iter()
        .next()
        .ok_or("empty response")?;
    if item.result_status != ResultStatus::SUCCESS {
        return Err(format!(
            "set-up failed: {:?} {:?}",
            item.result_reason, item.result_message
        ));
    }
    item.payload
        .ok_or_else(|| "set-up response without payload".to_owned())
}

/// An active AES-256 key for encryption, created over `client`.
async fn active_aes(
    client: &mut AsyncKmipClient,
    version: Version,
) -> Result<UniqueIdentifier, String> {
    let ResponsePayload::Create(created) = setup_call(client, version, create_aes()).await? else {
        return Err("set-up: not a Create response".into());
    };
    let id = created.unique_identifier;
    setup_call(client, version, activate(id.clone())).await?;
    Ok(id)
}

/// The request `op` sends on every iteration, after creating over `client` the objects it works on.
///
/// # Errors
///
/// When a set-up request fails (the message names the server's reason).
pub async fn prepare(
    op: Op,
    client: &mut AsyncKmipClient,
    version: Version,
) -> Result<Vec<u8>, String> {
    let payload = match op {
        Op::Create => create_aes(),
        Op::Get => RequestPayload::Get(GetRequest {
            unique_identifier: Some(active_aes(client, version).await?),
            ..Default::default()
        }),
        // The parameters are spelled out: PyKMIP does not take them from the key's attributes.
        Op::Encrypt => RequestPayload::Encrypt(EncryptRequest {
            unique_identifier: Some(active_aes(client, version).await?),
            cryptographic_parameters: Some(CryptographicParameters {
                cryptographic_algorithm: Some(CryptographicAlgorithm::AES),
                block_cipher_mode: Some(BlockCipherMode::GCM),
                tag_length: Some(16),
                ..Default::default()
            }),
            data: Some(SecretBytes::new(vec![0x5a; 64])),
            ..Default::default()
        }),
        Op::Sign => {
            let ResponsePayload::CreateKeyPair(pair) =
                setup_call(client, version, create_ec_pair()).await?
            else {
                return Err("set-up: not a Create Key Pair response".into());
            };
            let private = pair.private_key_unique_identifier;
            setup_call(client, version, activate(private.clone())).await?;
            RequestPayload::Sign(SignRequest {
                unique_identifier: Some(private),
                cryptographic_parameters: Some(CryptographicParameters {
                    digital_signature_algorithm: Some(DigitalSignatureAlgorithm::ECDSA_WITH_SHA256),
                    ..Default::default()
                }),
                data: Some(vec![0xa5; 64]),
                ..Default::default()
            })
        }
    };
    message(version, payload)
}

/// Whether `response` is a response message whose every batch item has Result Status Success: one flat
/// decode, no typed model, so that checking costs the load generator little.
pub fn all_succeeded(response: &[u8]) -> bool {
    let Ok(doc) = Document::decode(response) else {
        return false;
    };
    let root = doc.root();
    if root.tag() != Tag::RESPONSE_MESSAGE {
        return false;
    }
    let mut items = 0;
    for item in root.children().filter(|e| e.tag() == Tag::BATCH_ITEM) {
        items += 1;
        let status = item
            .child(Tag::RESULT_STATUS)
            .map(|s| s.item().as_enumeration());
        if status != Some(Ok(ResultStatus::SUCCESS.0)) {
            return false;
        }
    }
    items > 0
}
