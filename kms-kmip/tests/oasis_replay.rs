//! OASIS KMIP Profiles test cases (1.4 and 2.1, mandatory and optional) replayed against the KmipService in
//! process: every request is sent as TTLV, the response compared with the published one.
//!
//! Request Date-Times written `$NOW±N` are sent as the current time ± N seconds, so that Activation, Process
//! Start and Protect Stop Dates relative to now mean what the test case means.
//!
//! Ignored as variable: Date-Time values (time stamps, dates the server sets), correlation values, Server
//! Information and Vendor Identification, and values the test cases write as placeholders (`$...`: generated
//! key material, IVs, signatures); a Byte String placeholder no response bound, sent in a request, is the
//! latest value of the tag it names (`$MAC_DATA`, or numbered, `$DATA_0`). `$UNIQUE_IDENTIFIER_n` is bound to the identifier the service returned
//! the first time it appears in a response, and substituted into later requests. Interop (Begin/End) items
//! frame the test cases for a test harness and are not sent. Structures compare in order, or else as a
//! multiset of children (attribute lists have no defined order).
//!
//! Compared by length only, because the server randomises them: RNG Retrieve's Data, the Data of Encrypt
//! with an asymmetric key (RSA-OAEP) or with an IV the server chose (and that IV), the Data of Encrypt and Decrypt with a
//! key the server generated (Create, Create Key Pair, Re-key, Derive Key) and that key's Digest Value. A Query answer must list every Operation and Object Type the test
//! case lists, and may list more (the published lists are what the reference server implemented), except the
//! ones [`NOT_OFFERED`] names with the reason this server does not offer them (which it must then not list).
//!
//! The test prints the pass counts per profile and the reason for every test case that fails, and asserts
//! that exactly the cases in `oasis_replay_expected.txt` pass: a case that starts failing, or starts passing
//! without being added there, fails the test.

#![cfg(all(feature = "xml", feature = "json", feature = "service"))]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "ttlv_support/mod.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use kms_core::{KeyManager, MemoryStore, Principal, SoftwareBackend};
use kms_kmip::service::KmipService;
use kms_kmip::ttlv::{Node, NodeValue, Tag};
use kms_kmip::xml;

/// The profile family of a test case: `2.1 CS-BC` for `v2.1/mandatory/CS-BC-M-GCM-1-21`.
fn family(name: &str) -> String {
    let stem = name.rsplit('/').next().unwrap_or(name);
    let cut = stem
        .find("-M-")
        .or_else(|| stem.find("-O-"))
        .unwrap_or(stem.len());
    let version = if name.starts_with("v1.4") {
        "1.4"
    } else {
        "2.1"
    };
    let kind = if name.contains("/mandatory/") {
        "M"
    } else {
        "O"
    };
    format!("{version} {kind} {}", &stem[..cut])
}

/// A placeholder the support module turned into the ASCII bytes of its name (`KEY_MATERIAL_0`).
fn is_placeholder_bytes(b: &[u8]) -> bool {
    b.len() >= 2
        && b[0].is_ascii_uppercase()
        && b.iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
}

const IGNORED_TAGS: &[Tag] = &[
    Tag::TIME_STAMP,
    Tag::SERVER_CORRELATION_VALUE,
    Tag::CLIENT_CORRELATION_VALUE,
    Tag::SERVER_INFORMATION,
    Tag::VENDOR_IDENTIFICATION,
    Tag::RESULT_MESSAGE,
];

/// What one step of a replay treats as variable beyond [`IGNORED_TAGS`] and placeholders.
#[derive(Default)]
struct Variable {
    /// Byte Strings of these tags are compared by length only: output the server randomises (RNG Retrieve's
    /// Data, RSA-OAEP ciphertext, the Digest of a key the server generated).
    lengths_only: Vec<Tag>,
    /// A Query answer: the Operations and Object Types the test case lists must all be in the server's list,
    /// which may name more (the published lists are what the reference server implemented).
    query: bool,
}

/// Operations and Object Types a Query answer of the reference server lists and this server does not offer,
/// each with the reason. A Query answer describes the server that gives it: these entries of a published answer
/// are not required of ours, and ours must not list them; every other entry of a published list is required.
const NOT_OFFERED: &[(Tag, u32, &str)] = &[
    (Tag::OPERATION, Op::OBTAIN_LEASE.0, "no leases are granted"),
    (
        Tag::OPERATION,
        Op::GET_USAGE_ALLOCATION.0,
        "no usage allocations are kept",
    ),
    (
        Tag::OPERATION,
        Op::CANCEL.0,
        "every request is answered synchronously",
    ),
    (
        Tag::OPERATION,
        Op::POLL.0,
        "every request is answered synchronously",
    ),
    (Tag::OPERATION, Op::ARCHIVE.0, "there is no archive tier"),
    (Tag::OPERATION, Op::RECOVER.0, "there is no archive tier"),
    (
        Tag::OPERATION,
        Op::CERTIFY.0,
        "the server certifies no client keys",
    ),
    (
        Tag::OPERATION,
        Op::RE_CERTIFY.0,
        "the server certifies no client keys",
    ),
    (
        Tag::OPERATION,
        Op::NOTIFY.0,
        "a server sends it, no server answers it",
    ),
    (
        Tag::OPERATION,
        Op::PUT.0,
        "a server sends it, no server answers it",
    ),
    (
        Tag::OPERATION,
        Op::RNG_SEED.0,
        "the generator is the OS CSPRNG, not seeded by clients",
    ),
    (
        Tag::OBJECT_TYPE,
        Ot::TEMPLATE.0,
        "Templates are deprecated since KMIP 1.3",
    ),
    (Tag::OBJECT_TYPE, Ot::PGP_KEY.0, "PGP Keys are not stored"),
    (
        Tag::OBJECT_TYPE,
        Ot::CERTIFICATE_REQUEST.0,
        "Certificate Requests are not stored",
    ),
];

/// Why this server does not offer the Operation or Object Type `n`, if it does not.
fn not_offered(n: &Node<'_>) -> Option<&'static str> {
    let NodeValue::Enumeration(v) = n.value else {
        return None;
    };
    NOT_OFFERED
        .iter()
        .find(|(tag, value, _)| *tag == n.tag && *value == v)
        .map(|(_, _, why)| *why)
}

/// Attributes that must be present but whose value describes the server that answered (which generator made
/// the key material).
const PRESENCE_ONLY: &[Tag] = &[Tag::RANDOM_NUMBER_GENERATOR];
const PRESENCE_ONLY_NAMES: &[&str] = &["Random Number Generator"];

struct Replay {
    bindings: HashMap<String, String>,
    /// Byte String placeholders (`$SIGNATURE_DATA`, `$IV_COUNTER_NONCE`) bound to what the server answered,
    /// for the requests that send the value back.
    bytes: HashMap<Vec<u8>, Vec<u8>>,
    variable: Variable,
    /// The latest Byte String of each tag in a response, by squashed tag name (`MACDATA`): CS-AC-M-6 sends
    /// `$MAC_DATA` back although its MAC response states a literal value, meaning the MAC Data answered.
    seen: HashMap<String, Vec<u8>>,
}

/// A tag or placeholder name without underscores, upper case: `MACData` and `MAC_DATA` both give `MACDATA`.
fn squash(name: &[u8]) -> String {
    name.iter()
        .filter(|c| **c != b'_')
        .map(|c| char::from(c.to_ascii_uppercase()))
        .collect()
}

impl Replay {
    /// Records the Byte Strings of a response for [`Replay::seen`].
    fn see(&mut self, node: &Node<'_>) {
        match &node.value {
            NodeValue::Structure(c) => c.iter().for_each(|c| self.see(c)),
            NodeValue::ByteString(b) => {
                self.seen
                    .insert(squash(node.tag.to_string().as_bytes()), b.to_vec());
            }
            _ => {}
        }
    }

    /// Substitutes bound `$UNIQUE_IDENTIFIER_n` in a request.
    fn substitute(&self, node: &mut Node<'static>) -> Result<(), String> {
        match &mut node.value {
            NodeValue::Structure(children) => {
                for c in children {
                    self.substitute(c)?;
                }
            }
            // `$NOW±N` is the time the request is sent (the support module wrote it as a fixed instant).
            NodeValue::DateTime(d) if (*d - support::NOW).abs() <= 30 * 86_400 => {
                *d += now() - support::NOW;
            }
            NodeValue::ByteString(b) if is_placeholder_bytes(b) => {
                if let Some(bound) = self.bytes.get(b.as_ref()) {
                    node.value = NodeValue::ByteString(bound.clone().into());
                } else if let Some(seen) = self.seen.get(&squash(b)).or_else(|| {
                    // `$DATA_0` (CS-BC-M-13): the numbered form names the same tag.
                    let cut = b.iter().rposition(|c| *c == b'_')?;
                    let (stem, n) = (&b[..cut], &b[cut + 1..]);
                    (!n.is_empty() && n.iter().all(u8::is_ascii_digit))
                        .then(|| self.seen.get(&squash(stem)))
                        .flatten()
                }) {
                    node.value = NodeValue::ByteString(seen.clone().into());
                }
            }
            NodeValue::TextString(s) if s.starts_with('$') => {
                let bound = self
                    .bindings
                    .get(s.as_ref())
                    .ok_or_else(|| format!("request uses {s} before a response bound it"))?;
                node.value = NodeValue::TextString(bound.clone().into());
            }
            _ => {}
        }
        Ok(())
    }

    /// Whether `actual` matches `expected`, binding identifiers; bindings made by a failed match are undone.
    fn matches(&mut self, expected: &Node<'_>, actual: &Node<'_>) -> Result<(), String> {
        let saved = (self.bindings.clone(), self.bytes.clone());
        let r = self.matches_inner(expected, actual);
        if r.is_err() {
            (self.bindings, self.bytes) = saved;
        }
        r
    }

    fn matches_inner(&mut self, expected: &Node<'_>, actual: &Node<'_>) -> Result<(), String> {
        if expected.tag != actual.tag {
            return Err(format!("expected {}, got {}", expected.tag, actual.tag));
        }
        if IGNORED_TAGS.contains(&expected.tag) || PRESENCE_ONLY.contains(&expected.tag) {
            return Ok(());
        }
        // The same in a 1.x Attribute structure, named by its Attribute Name.
        if expected.tag == Tag::ATTRIBUTE
            && let Some(name) = child(expected, Tag::ATTRIBUTE_NAME)
            && PRESENCE_ONLY_NAMES
                .iter()
                .any(|n| matches!(&name.value, NodeValue::TextString(s) if s.as_ref() == *n))
        {
            return match child(actual, Tag::ATTRIBUTE_NAME) {
                Some(a) if a.value == name.value => Ok(()),
                _ => Err(format!("expected the attribute {}", show(&name.value))),
            };
        }
        match (&expected.value, &actual.value) {
            (NodeValue::Structure(e), NodeValue::Structure(a))
                if self.variable.query && expected.tag == Tag::RESPONSE_PAYLOAD =>
            {
                let listed = |n: &&Node<'_>| n.tag == Tag::OPERATION || n.tag == Tag::OBJECT_TYPE;
                let missing: Vec<String> = e
                    .iter()
                    .filter(listed)
                    .filter(|n| not_offered(n).is_none())
                    .filter(|n| !a.iter().any(|m| m.tag == n.tag && m.value == n.value))
                    .map(|n| format!("{} {}", n.tag, show(&n.value)))
                    .collect();
                if !missing.is_empty() {
                    return Err(format!("Query answer lacks {}", missing.join(", ")));
                }
                // The server must not claim what it refuses.
                if let Some((n, why)) = a.iter().find_map(|n| not_offered(n).map(|w| (n, w))) {
                    return Err(format!(
                        "Query answer lists {} {}, which this server does not offer ({why})",
                        n.tag,
                        show(&n.value)
                    ));
                }
                let rest = |v: &[Node<'_>]| -> Node<'static> {
                    Node {
                        tag: Tag::RESPONSE_PAYLOAD,
                        value: NodeValue::Structure(
                            v.iter()
                                .filter(|n| n.tag != Tag::OPERATION && n.tag != Tag::OBJECT_TYPE)
                                .map(|n| n.clone().into_owned())
                                .collect(),
                        ),
                    }
                };
                let (e, a) = (rest(e), rest(a));
                self.variable.query = false;
                let r = self.matches(&e, &a);
                self.variable.query = true;
                r
            }
            (NodeValue::Structure(e), NodeValue::Structure(a)) => {
                let e: Vec<_> = e
                    .iter()
                    .filter(|n| !IGNORED_TAGS.contains(&n.tag))
                    .collect();
                let a: Vec<_> = a
                    .iter()
                    .filter(|n| !IGNORED_TAGS.contains(&n.tag))
                    .collect();
                if e.len() != a.len() {
                    return Err(format!(
                        "{}: expected {} items [{}], got {} [{}]",
                        expected.tag,
                        e.len(),
                        e.iter()
                            .map(|n| n.tag.to_string())
                            .collect::<Vec<_>>()
                            .join(", "),
                        a.len(),
                        a.iter()
                            .map(|n| n.tag.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                let in_order = {
                    let saved = (self.bindings.clone(), self.bytes.clone());
                    let r = e.iter().zip(&a).try_for_each(|(e, a)| self.matches(e, a));
                    if r.is_err() {
                        (self.bindings, self.bytes) = saved;
                    }
                    r
                };
                match in_order {
                    Ok(()) => Ok(()),
                    Err(first) => {
                        let mut used = vec![false; a.len()];
                        for en in &e {
                            let hit =
                                (0..a.len()).find(|&i| !used[i] && self.matches(en, a[i]).is_ok());
                            match hit {
                                Some(i) => used[i] = true,
                                None => return Err(first),
                            }
                        }
                        Ok(())
                    }
                }
            }
            (NodeValue::DateTime(_), NodeValue::DateTime(_))
            | (NodeValue::DateTimeExtended(_), NodeValue::DateTimeExtended(_)) => Ok(()),
            (NodeValue::ByteString(e), NodeValue::ByteString(a)) if is_placeholder_bytes(e) => {
                self.bytes.entry(e.to_vec()).or_insert_with(|| a.to_vec());
                Ok(())
            }
            (NodeValue::ByteString(e), NodeValue::ByteString(a))
                if self.variable.lengths_only.contains(&expected.tag) =>
            {
                if e.len() == a.len() {
                    Ok(())
                } else {
                    Err(format!(
                        "{}: expected {} bytes, got {}",
                        expected.tag,
                        e.len(),
                        a.len()
                    ))
                }
            }
            (NodeValue::TextString(e), NodeValue::TextString(a)) if e.starts_with('$') => {
                match self.bindings.get(e.as_ref()) {
                    Some(bound) if bound == a.as_ref() => Ok(()),
                    Some(bound) => Err(format!("{}: {e} is {bound}, got {a}", expected.tag)),
                    None => {
                        self.bindings.insert(e.to_string(), a.to_string());
                        Ok(())
                    }
                }
            }
            (e, a) if e == a => Ok(()),
            (e, a) => Err(format!(
                "{}: expected {}, got {}",
                expected.tag,
                show(e),
                show(a)
            )),
        }
    }
}

fn now() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(since.as_secs()).unwrap()
}

fn show(v: &NodeValue<'_>) -> String {
    let s = format!("{v:?}");
    s.chars().take(80).collect()
}

fn operation_of(request: &Node<'_>) -> Option<u32> {
    let NodeValue::Structure(children) = &request.value else {
        return None;
    };
    children
        .iter()
        .filter(|c| c.tag == Tag::BATCH_ITEM)
        .find_map(|b| match &b.value {
            NodeValue::Structure(f) => {
                f.iter()
                    .find(|f| f.tag == Tag::OPERATION)
                    .and_then(|o| match o.value {
                        NodeValue::Enumeration(v) => Some(v),
                        _ => None,
                    })
            }
            _ => None,
        })
}

fn result_message(node: &Node<'_>) -> Option<String> {
    if node.tag == Tag::RESULT_MESSAGE
        && let NodeValue::TextString(s) = &node.value
    {
        return Some(s.to_string());
    }
    match &node.value {
        NodeValue::Structure(children) => children.iter().find_map(result_message),
        _ => None,
    }
}

const INTEROP: u32 = kms_kmip::message::enums::Operation::INTEROP.0;

/// Test cases that register 1024-bit RSA keys: they run against a backend the operator let import them
/// (`kms serve --allow-legacy-rsa-import`); every other case runs with the default that refuses them.
const LEGACY_RSA_CASES: &[&str] = &[
    "v2.1/mandatory/BL-M-7-21",
    "v2.1/mandatory/BL-M-9-21",
    "v2.1/mandatory/BL-M-11-21",
];

fn run_case(name: &str, text: &str) -> Result<(), String> {
    let backend = if LEGACY_RSA_CASES.contains(&name) {
        SoftwareBackend::new().allow_legacy_rsa_import()
    } else {
        SoftwareBackend::new()
    };
    let manager = KeyManager::builder(Arc::new(MemoryStore::new()))
        .backend(Arc::new(backend))
        .build()
        .map_err(|e| e.to_string())?;
    let service = KmipService::new(Arc::new(manager));
    let who = Principal::new("oasis").map_err(|e| e.to_string())?;
    let wire = Wire::of(name);
    run_case_with(text, &mut |bytes| {
        let request = wire.carry(bytes)?;
        wire.carry(&service.handle_ttlv(&who, &request))
    })
}

/// The encoding a Message Encoding profile case travels in (MSGENC-JSON, MSGENC-XML; MSGENC-HTTPS carries
/// TTLV, and runs over HTTPS in `msgenc_cases_replay_over_https`).
#[derive(Clone, Copy)]
enum Wire {
    Ttlv,
    Json,
    Xml,
}

impl Wire {
    fn of(name: &str) -> Self {
        if name.contains("/MSGENC-JSON-") {
            Self::Json
        } else if name.contains("/MSGENC-XML-") {
            Self::Xml
        } else {
            Self::Ttlv
        }
    }

    /// A TTLV message written in this encoding and read back by the codec, as a transcoding front (the HTTPS
    /// listener's) does with a request and its response: what the encoding cannot carry is lost here too.
    fn carry(self, ttlv: &[u8]) -> Result<Vec<u8>, String> {
        self.read(&self.write(ttlv)?)
    }

    /// A TTLV message written in this encoding.
    fn write(self, ttlv: &[u8]) -> Result<Vec<u8>, String> {
        let node = Node::decode(ttlv).map_err(|e| format!("TTLV: {e}"))?;
        Ok(match self {
            Self::Ttlv => ttlv.to_vec(),
            Self::Json => kms_kmip::json::to_string(&node).into_bytes(),
            Self::Xml => xml::to_string(&node)
                .map_err(|e| format!("XML: {e}"))?
                .into_bytes(),
        })
    }

    /// A message in this encoding, as TTLV.
    fn read(self, bytes: &[u8]) -> Result<Vec<u8>, String> {
        let text = || std::str::from_utf8(bytes).map_err(|e| e.to_string());
        let node = match self {
            Self::Ttlv => return Ok(bytes.to_vec()),
            Self::Json => kms_kmip::json::from_str(text()?).map_err(|e| format!("JSON: {e}"))?,
            Self::Xml => xml::from_str(text()?).map_err(|e| format!("XML: {e}"))?,
        };
        node.to_bytes().map_err(|e| e.to_string())
    }
}

/// Sends one TTLV request and returns the TTLV response.
type Send<'a> = dyn FnMut(&[u8]) -> Result<Vec<u8>, String> + 'a;

/// Replays one test case, sending each request's TTLV through `send`.
fn run_case_with(text: &str, send: &mut Send<'_>) -> Result<(), String> {
    let nodes = xml::from_str_all(text).map_err(|e| format!("XML: {e}"))?;
    let mut replay = Replay {
        bindings: HashMap::new(),
        bytes: HashMap::new(),
        variable: Variable::default(),
        seen: HashMap::new(),
    };
    let mut keys = Keys::default();
    let mut i = 0;
    let mut step = 0;
    while i < nodes.len() {
        let request = &nodes[i];
        let expected = nodes
            .get(i + 1)
            .filter(|n| n.tag == Tag::RESPONSE_MESSAGE)
            .ok_or_else(|| format!("message {i}: request without a response"))?;
        i += 2;
        if operation_of(request) == Some(INTEROP) {
            continue;
        }
        step += 1;
        let mut request = request.clone();
        replay.substitute(&mut request)?;
        replay.variable = keys.variable_in(&request, expected);
        let bytes = request.to_bytes().map_err(|e| e.to_string())?;
        let response = send(&bytes)?;
        let actual =
            Node::decode(&response).map_err(|e| format!("response does not decode: {e}"))?;
        replay.matches(expected, &actual).map_err(|e| {
            let said = result_message(&actual).map_or(String::new(), |m| format!(" (server: {m})"));
            format!("request {step} (message {}): {e}{said}", i - 2)
        })?;
        keys.learn(&request, &actual);
        replay.see(&actual);
    }
    Ok(())
}

use kms_kmip::message::enums::{ObjectType as Ot, Operation as Op};

/// The objects a replay made, by identifier: which ones the server generated, which ones are asymmetric.
#[derive(Default)]
struct Keys {
    generated: BTreeSet<String>,
    asymmetric: BTreeSet<String>,
}

fn children<'n, 'a>(node: &'n Node<'a>) -> &'n [Node<'a>] {
    match &node.value {
        NodeValue::Structure(c) => c,
        _ => &[],
    }
}

fn child<'n, 'a>(node: &'n Node<'a>, tag: Tag) -> Option<&'n Node<'a>> {
    children(node).iter().find(|c| c.tag == tag)
}

fn enumeration(node: Option<&Node<'_>>) -> Option<u32> {
    match node?.value {
        NodeValue::Enumeration(v) => Some(v),
        _ => None,
    }
}

fn texts(node: &Node<'_>, out: &mut Vec<String>) {
    match &node.value {
        NodeValue::TextString(s) => out.push(s.to_string()),
        NodeValue::Structure(c) => c.iter().for_each(|c| texts(c, out)),
        _ => {}
    }
}

fn target_of(payload: Option<&Node<'_>>) -> Option<String> {
    match &child(payload?, Tag::UNIQUE_IDENTIFIER)?.value {
        NodeValue::TextString(s) => Some(s.to_string()),
        _ => None,
    }
}

impl Keys {
    /// What the answer to `request` may vary in.
    fn variable_in(&self, request: &Node<'_>, expected: &Node<'_>) -> Variable {
        let mut v = Variable::default();
        let answers: Vec<_> = children(expected)
            .iter()
            .filter(|c| c.tag == Tag::BATCH_ITEM)
            .collect();
        let items = children(request)
            .iter()
            .filter(|c| c.tag == Tag::BATCH_ITEM);
        for (n, item) in items.enumerate() {
            let payload = child(item, Tag::REQUEST_PAYLOAD);
            let target = target_of(payload);
            let is = |set: &BTreeSet<String>| target.as_ref().is_some_and(|t| set.contains(t));
            // An IV the server chose makes the ciphertext random.
            let server_iv = payload.is_some_and(|p| child(p, Tag::IV_COUNTER_NONCE).is_none())
                && answers
                    .get(n)
                    .and_then(|a| child(a, Tag::RESPONSE_PAYLOAD))
                    .is_some_and(|p| child(p, Tag::IV_COUNTER_NONCE).is_some());
            if server_iv {
                v.lengths_only.push(Tag::IV_COUNTER_NONCE);
            }
            match enumeration(child(item, Tag::OPERATION)).map(Op) {
                Some(Op::RNG_RETRIEVE) => v.lengths_only.push(Tag::DATA),
                // RSA-OAEP output is randomised; so is anything done with a key the server generated.
                Some(Op::ENCRYPT) if is(&self.asymmetric) || is(&self.generated) || server_iv => {
                    v.lengths_only.push(Tag::DATA);
                }
                Some(Op::DECRYPT) if is(&self.generated) => v.lengths_only.push(Tag::DATA),
                Some(Op::GET_ATTRIBUTES) if is(&self.generated) => {
                    v.lengths_only.push(Tag::DIGEST_VALUE);
                }
                Some(Op::QUERY) => v.query = true,
                _ => {}
            }
        }
        v
    }

    /// Records the objects `response` names as generated or asymmetric.
    fn learn(&mut self, request: &Node<'_>, response: &Node<'_>) {
        let requests = children(request)
            .iter()
            .filter(|c| c.tag == Tag::BATCH_ITEM);
        let responses = children(response)
            .iter()
            .filter(|c| c.tag == Tag::BATCH_ITEM);
        for (q, a) in requests.zip(responses) {
            let Some(payload) = child(a, Tag::RESPONSE_PAYLOAD) else {
                continue;
            };
            let mut ids = Vec::new();
            texts(payload, &mut ids);
            let object_type = enumeration(
                child(q, Tag::REQUEST_PAYLOAD).and_then(|p| child(p, Tag::OBJECT_TYPE)),
            )
            .map(Ot);
            match enumeration(child(a, Tag::OPERATION)).map(Op) {
                Some(Op::CREATE | Op::RE_KEY | Op::DERIVE_KEY) => self.generated.extend(ids),
                Some(Op::CREATE_KEY_PAIR | Op::RE_KEY_KEY_PAIR) => {
                    self.generated.extend(ids.iter().cloned());
                    self.asymmetric.extend(ids);
                }
                Some(Op::REGISTER)
                    if matches!(object_type, Some(Ot::PUBLIC_KEY | Ot::PRIVATE_KEY)) =>
                {
                    self.asymmetric.extend(ids);
                }
                _ => {}
            }
        }
    }
}

fn expected_passes() -> BTreeSet<String> {
    include_str!("oasis_replay_expected.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn oasis_profile_test_cases_replay_against_the_service() {
    let files = support::oasis_files();
    assert!(files.len() >= 160, "test cases missing: {}", files.len());
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut passed = BTreeSet::new();
    let mut failed = Vec::new();
    for (name, text) in &files {
        let entry = counts.entry(family(name)).or_default();
        entry.1 += 1;
        match run_case(name, text) {
            Ok(()) => {
                entry.0 += 1;
                passed.insert(name.clone());
            }
            Err(e) => failed.push(format!("{name}: {e}")),
        }
    }
    for (fam, (ok, all)) in &counts {
        eprintln!("OASIS replay {fam:<22} {ok:>3}/{all}");
    }
    eprintln!("OASIS replay total {}/{}", passed.len(), files.len());
    eprintln!("failing test cases:");
    for f in &failed {
        eprintln!("  {}", f.chars().take(400).collect::<String>());
    }
    if std::env::var_os("KMS_OASIS_PRINT_PASSES").is_some() {
        for p in &passed {
            println!("{p}");
        }
    }
    let expected = expected_passes();
    let lost: Vec<_> = expected.difference(&passed).cloned().collect();
    let gained: Vec<_> = passed.difference(&expected).cloned().collect();
    assert!(
        lost.is_empty() && gained.is_empty(),
        "the passing set differs from oasis_replay_expected.txt: now failing {lost:?}, now passing {gained:?} \
         (KMS_OASIS_PRINT_PASSES=1 prints the passing set)"
    );
}

#[cfg(all(feature = "server", feature = "client"))]
#[path = "transport_support/mod.rs"]
mod transport_support;

/// A few passing test cases again, over mutual TLS through the KMIP listener, each against a fresh server.
#[cfg(all(feature = "server", feature = "client"))]
#[test]
fn a_few_oasis_cases_replay_over_mutual_tls() {
    use kms_kmip::transport::Limits;
    use kms_kmip::transport::client::{ClientOptions, KmipClient};
    use transport_support::{Pki, Running};

    const CASES: &[&str] = &[
        "v2.1/mandatory/AX-M-1-21",
        "v1.4/mandatory/AX-M-2-14",
        "v2.1/mandatory/CS-AC-M-1-21",
        "v1.4/mandatory/SKFF-M-1-14",
    ];
    let files = support::oasis_files();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let pki = Pki::new();
    let leaf = pki.ca.client("oasis");
    for case in CASES {
        assert!(
            expected_passes().contains(*case),
            "{case} is not in the expected passes"
        );
        let (_, text) = files.iter().find(|(n, _)| n == case).expect("case present");
        let service = KmipService::in_memory().unwrap();
        let server = runtime.block_on(Running::start(&pki, Limits::new(), service));
        let mut client = KmipClient::connect(
            &server.kmip_addr(),
            pki.ca.client_tls(&leaf),
            ClientOptions::default(),
        )
        .unwrap();
        let result = run_case_with(text, &mut |bytes| {
            client.request(bytes).map_err(|e| e.to_string())
        });
        drop(client);
        assert!(runtime.block_on(server.stop()));
        result.unwrap_or_else(|e| panic!("{case} over TLS: {e}"));
        eprintln!("OASIS replay over mutual TLS: {case} passes");
    }
}

/// The Message Encoding profile cases over HTTPS `POST /kmip/2_1`, each against a fresh server that transcodes
/// JSON and XML as `kms serve` does: MSGENC-HTTPS in TTLV, MSGENC-JSON and MSGENC-XML in their encodings.
#[cfg(all(feature = "server", feature = "client"))]
#[test]
fn msgenc_cases_replay_over_https() {
    use kms_kmip::transport::client::{ClientOptions, HttpsClient};
    use kms_kmip::transport::{Encoding, Limits, Transcoding};
    use transport_support::{Pki, Running};

    let files = support::oasis_files();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let pki = Pki::new();
    let leaf = pki.ca.client_tls(&pki.ca.client("oasis"));
    let cases: Vec<_> = files
        .iter()
        .filter(|(n, _)| n.contains("/MSGENC-"))
        .collect();
    assert_eq!(cases.len(), 6, "the six Message Encoding cases");
    for (case, text) in cases {
        assert!(
            expected_passes().contains(case),
            "{case} is not in the expected passes"
        );
        let wire = Wire::of(case);
        let encoding = match wire {
            Wire::Ttlv => Encoding::Ttlv,
            Wire::Json => Encoding::Json,
            Wire::Xml => Encoding::Xml,
        };
        let limits = kms_kmip::ttlv::Limits::new();
        let handler = Transcoding::new(KmipService::in_memory().unwrap(), limits);
        let server = runtime.block_on(Running::start(&pki, Limits::new(), handler));
        let mut client = runtime
            .block_on(HttpsClient::connect(
                &server.https_addr(),
                std::sync::Arc::clone(&leaf),
                ClientOptions::default(),
            ))
            .unwrap();
        let result = run_case_with(text, &mut |bytes| {
            let body = wire.write(bytes)?;
            let answer = runtime
                .block_on(client.request(encoding, &body))
                .map_err(|e| e.to_string())?;
            wire.read(&answer)
        });
        drop(client);
        assert!(runtime.block_on(server.stop()));
        result.unwrap_or_else(|e| panic!("{case} over HTTPS: {e}"));
        eprintln!("OASIS replay over HTTPS: {case} passes");
    }
}
