//! Generic TTLV decode and encode over real KMIP messages (the hex vectors of `kms-kmip/tests/vectors`: the
//! NLnet Labs and PyKMIP sets and the vCenter traffic): this codec against a minimal validating walk written
//! here as the floor, and against the peers that build in this workspace, side by side in one run, with a table
//! of medians and ratios at the end (`kms_benches::RatioTable`). One iteration handles one message, the next one
//! of the set each time, so a time is the mean over the set.
//!
//! - floor: a validating walk over the bytes (header, lengths, padding, Boolean values, UTF-8), no output; for
//!   encode, the minimal writer of a pre-parsed event list with back-patched structure lengths.
//! - kms-kmip: `ttlv::validate` (the zero-copy reader over every item, values decoded and checked),
//!   `Document::decode` (the generic tree as one flat list of items, allocated per message), the same decode into
//!   an entry list reused from message to message (`Document::decode_with_buffer`), `Node::decode` (the nested
//!   tree, one `Vec` per structure, borrowing) and `Node::encode` into a reused buffer.
//! - kmip-ttlv (NLnet Labs): a generic tree read and written with its TTLV primitives (`types`); it has no
//!   Interval type, so messages holding one are left out of its column (the table says how many it ran).
//! - cosmian_kmip: its generic `TTLV` tree, read with `TTLV::from_bytes` (after `TTLV::find_version`, which its
//!   reader needs for the tag table) and written with `TTLV::to_bytes` (`support/cosmian.rs`); messages it
//!   cannot read are counted and listed with the reason, and left out of its column.
//!
//! The table gives each column's throughput from the mean size of the messages it went round.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::io::{Cursor, Read, Write};

use criterion::Criterion;
use kms_benches::{RatioTable, round_robin as each, run_case};
use kms_kmip::ttlv::{self, Document, DocumentBuffer, Limits, Node, Writer};

// Shared by kmip_codec and kmip_typed, each using part of it; `--features cosmian` builds cosmian_kmip.
#[allow(dead_code)]
#[path = "support/cosmian.rs"]
mod cosmian;

// --- inputs --------------------------------------------------------------------------------------------------

// --- the floor -----------------------------------------------------------------------------------------------

/// The least a validating decoder must do: every header, length, padding byte, Boolean and UTF-8 check, with
/// no output. Returns the number of items.
fn floor_walk(buf: &[u8]) -> Option<usize> {
    let mut ends = [0usize; 65];
    let mut depth = 0usize;
    ends[0] = buf.len();
    let mut pos = 0usize;
    let mut count = 0usize;
    let mut top_level = 0;
    while pos < buf.len() {
        while depth > 0 && pos == ends[depth] {
            depth -= 1;
        }
        if depth == 0 {
            top_level += 1;
            if top_level > 1 {
                return None;
            }
        }
        let end = ends[depth];
        let h = buf.get(pos..pos + 8)?;
        if pos + 8 > end {
            return None;
        }
        let len = u32::from_be_bytes([h[4], h[5], h[6], h[7]]) as usize;
        pos += 8;
        let v = |n: usize| buf.get(pos..pos + n).filter(|_| pos + n <= end);
        match h[3] {
            1 => {
                if !len.is_multiple_of(8) || pos + len > end || depth == 64 {
                    return None;
                }
                depth += 1;
                ends[depth] = pos + len;
            }
            2 | 5 | 0x0A => {
                if len != 4 || v(8)?[4..] != [0; 4] {
                    return None;
                }
                pos += 8;
            }
            3 | 9 | 0x0B => {
                v(8)?;
                if len != 8 {
                    return None;
                }
                pos += 8;
            }
            6 => {
                let b = v(8)?;
                if len != 8 || b[..7] != [0; 7] || b[7] > 1 {
                    return None;
                }
                pos += 8;
            }
            4 => {
                if len == 0 || !len.is_multiple_of(8) {
                    return None;
                }
                v(len)?;
                pos += len;
            }
            t @ (7 | 8) => {
                let padded = (len + 7) & !7;
                let all = v(padded)?;
                if all[len..].iter().any(|b| *b != 0)
                    || (t == 7 && std::str::from_utf8(&all[..len]).is_err())
                {
                    return None;
                }
                pos += padded;
            }
            _ => return None,
        }
        count += 1;
    }
    Some(count)
}

/// One item of a pre-parsed message, for the encode floor.
enum Event<'a> {
    Open([u8; 3]),
    Close,
    Scalar([u8; 3], u8, &'a [u8]),
}

fn events(buf: &[u8]) -> Vec<Event<'_>> {
    fn walk<'a>(buf: &'a [u8], out: &mut Vec<Event<'a>>) {
        let mut pos = 0;
        while pos < buf.len() {
            let h = &buf[pos..pos + 8];
            let tag = [h[0], h[1], h[2]];
            let len = u32::from_be_bytes([h[4], h[5], h[6], h[7]]) as usize;
            if h[3] == 1 {
                out.push(Event::Open(tag));
                walk(&buf[pos + 8..pos + 8 + len], out);
                out.push(Event::Close);
                pos += 8 + len;
            } else {
                out.push(Event::Scalar(tag, h[3], &buf[pos + 8..pos + 8 + len]));
                pos += 8 + ((len + 7) & !7);
            }
        }
    }
    let mut out = Vec::new();
    walk(buf, &mut out);
    out
}

/// The least an encoder must do: headers, values, zero padding, structure lengths back-patched.
fn floor_encode(events: &[Event<'_>], out: &mut Vec<u8>) {
    let mut open = [0usize; 65];
    let mut depth = 0;
    for e in events {
        match e {
            Event::Open(t) => {
                open[depth] = out.len();
                depth += 1;
                out.extend_from_slice(&[t[0], t[1], t[2], 1, 0, 0, 0, 0]);
            }
            Event::Close => {
                depth -= 1;
                let start = open[depth];
                let len = u32::try_from(out.len() - start - 8).unwrap().to_be_bytes();
                out[start + 4..start + 8].copy_from_slice(&len);
            }
            Event::Scalar(t, ty, v) => {
                let l = u32::try_from(v.len()).unwrap().to_be_bytes();
                out.extend_from_slice(&[t[0], t[1], t[2], *ty, l[0], l[1], l[2], l[3]]);
                out.extend_from_slice(v);
                let pad = if matches!(*ty, 2 | 5 | 0x0A) {
                    4
                } else {
                    ((v.len() + 7) & !7) - v.len()
                };
                out.extend_from_slice(&[0u8; 8][..pad]);
            }
        }
    }
}

// --- kmip-ttlv (NLnet Labs) ----------------------------------------------------------------------------------

mod nlnet {
    use super::{Cursor, Read, Write};
    use kmip_ttlv::types::{
        SerializableTtlvType, TtlvBigInteger, TtlvBoolean, TtlvByteString, TtlvDateTime,
        TtlvEnumeration, TtlvInteger, TtlvLongInteger, TtlvTag, TtlvTextString, TtlvType,
    };

    pub enum Value {
        Structure(Vec<Item>),
        Integer(TtlvInteger),
        LongInteger(TtlvLongInteger),
        BigInteger(TtlvBigInteger),
        Enumeration(TtlvEnumeration),
        Boolean(TtlvBoolean),
        TextString(TtlvTextString),
        ByteString(TtlvByteString),
        DateTime(TtlvDateTime),
    }

    pub struct Item {
        tag: TtlvTag,
        value: Value,
    }

    /// Reads one item with kmip-ttlv's primitives (structures by their length).
    pub fn read(src: &mut Cursor<&[u8]>) -> Option<Item> {
        let tag = TtlvTag::read(src).ok()?;
        let ty = TtlvType::read(src).ok()?;
        let value = match ty {
            TtlvType::Structure => {
                let mut len = [0u8; 4];
                src.read_exact(&mut len).ok()?;
                let end = src.position() + u64::from(u32::from_be_bytes(len));
                let mut children = Vec::new();
                while src.position() < end {
                    children.push(read(src)?);
                }
                Value::Structure(children)
            }
            TtlvType::Integer => Value::Integer(TtlvInteger::read(src).ok()?),
            TtlvType::LongInteger => Value::LongInteger(TtlvLongInteger::read(src).ok()?),
            TtlvType::BigInteger => Value::BigInteger(TtlvBigInteger::read(src).ok()?),
            TtlvType::Enumeration => Value::Enumeration(TtlvEnumeration::read(src).ok()?),
            TtlvType::Boolean => Value::Boolean(TtlvBoolean::read(src).ok()?),
            TtlvType::TextString => Value::TextString(TtlvTextString::read(src).ok()?),
            TtlvType::ByteString => Value::ByteString(TtlvByteString::read(src).ok()?),
            TtlvType::DateTime => Value::DateTime(TtlvDateTime::read(src).ok()?),
        };
        Some(Item { tag, value })
    }

    pub fn decode(bytes: &[u8]) -> Option<Item> {
        let mut c = Cursor::new(bytes);
        let item = read(&mut c)?;
        (c.position() == bytes.len() as u64).then_some(item)
    }

    /// Writes one item with kmip-ttlv's primitives, structure lengths back-patched.
    pub fn write(item: &Item, out: &mut Cursor<&mut Vec<u8>>) {
        item.tag.write(out).unwrap();
        match &item.value {
            Value::Structure(children) => {
                out.write_all(&[0x01, 0, 0, 0, 0]).unwrap();
                let start = out.position() as usize;
                for c in children {
                    write(c, out);
                }
                let len = u32::try_from(out.position() as usize - start)
                    .unwrap()
                    .to_be_bytes();
                out.get_mut()[start - 4..start].copy_from_slice(&len);
            }
            Value::Integer(v) => v.write(out).unwrap(),
            Value::LongInteger(v) => v.write(out).unwrap(),
            Value::BigInteger(v) => v.write(out).unwrap(),
            Value::Enumeration(v) => v.write(out).unwrap(),
            Value::Boolean(v) => v.write(out).unwrap(),
            Value::TextString(v) => v.write(out).unwrap(),
            Value::ByteString(v) => v.write(out).unwrap(),
            Value::DateTime(v) => v.write(out).unwrap(),
        }
    }
}

// --- the benchmarks ------------------------------------------------------------------------------------------

/// Mean length of the messages a column goes round.
fn mean_len<M: AsRef<[u8]>>(messages: &[M]) -> f64 {
    let total: usize = messages.iter().map(|m| m.as_ref().len()).sum();
    total as f64 / messages.len().max(1) as f64
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let table = RatioTable::default();
    let messages = kms_benches::kmip_vector_messages().expect("kms-kmip/tests/vectors");
    assert!(messages.len() > 90, "vectors missing");
    let limits = Limits::default();
    for m in &messages {
        assert_eq!(floor_walk(m).is_some(), ttlv::validate(m, &limits).is_ok());
        assert_eq!(
            Document::decode(m).unwrap().root().to_node(),
            Node::decode(m).unwrap()
        );
    }
    // kmip-ttlv has no Interval type: messages holding one are left out of its column.
    let nlnet_messages: Vec<&Vec<u8>> = messages
        .iter()
        .filter(|m| nlnet::decode(m).is_some())
        .collect();
    let nlnet_label = format!("kmip-ttlv primitives (tree; {} msgs)", nlnet_messages.len());
    let (cosmian_read, cosmian_reasons) = cosmian::failures(&messages, cosmian::decode, 8);
    let cosmian_messages: Vec<&Vec<u8>> = messages
        .iter()
        .filter(|m| cosmian::decode(m).is_ok())
        .collect();
    assert_eq!(cosmian_messages.len(), cosmian_read);
    let cosmian_label = format!(
        "cosmian_kmip {} TTLV (tree; {} msgs)",
        cosmian::VERSION,
        cosmian_messages.len()
    );

    let mut buffer = DocumentBuffer::new();
    let decode = "decode (per message)";
    let columns = [
        ("floor (minimal walk)", mean_len(&messages)),
        ("kms-kmip ttlv::validate (reader)", mean_len(&messages)),
        ("kms-kmip Document::decode (flat tree)", mean_len(&messages)),
        (
            "kms-kmip Document (flat tree, reused buffer)",
            mean_len(&messages),
        ),
        ("kms-kmip Node::decode (nested tree)", mean_len(&messages)),
        (nlnet_label.as_str(), mean_len(&nlnet_messages)),
        (cosmian_label.as_str(), mean_len(&cosmian_messages)),
    ];
    for (label, bytes) in columns {
        table.set_bytes(decode, label, bytes);
    }
    let mut decoders = vec![
        each(columns[0].0, &messages, |m| {
            black_box(floor_walk(black_box(m)));
        }),
        each(columns[1].0, &messages, |m| {
            black_box(ttlv::validate(black_box(m), &limits)).unwrap();
        }),
        each(columns[2].0, &messages, |m| {
            black_box(Document::decode_with(black_box(m), &limits)).unwrap();
        }),
        each(columns[3].0, &messages, move |m| {
            let doc = Document::decode_with_buffer(black_box(m), &limits, &mut buffer).unwrap();
            buffer = black_box(doc).into_buffer();
        }),
        each(columns[4].0, &messages, |m| {
            black_box(Node::decode_with(black_box(m), &limits)).unwrap();
        }),
        each(&nlnet_label, &nlnet_messages, |m| {
            black_box(nlnet::decode(black_box(m))).unwrap();
        }),
    ];
    if !cosmian_messages.is_empty() {
        decoders.push(each(&cosmian_label, &cosmian_messages, |m| {
            black_box(cosmian::decode(black_box(m))).unwrap();
        }));
    }
    run_case(&mut c, &table, 0, decode, None, decoders);

    let parsed: Vec<Vec<Event<'_>>> = messages.iter().map(|m| events(m)).collect();
    let trees: Vec<Node<'_>> = messages.iter().map(|m| Node::decode(m).unwrap()).collect();
    let nlnet_trees: Vec<nlnet::Item> = nlnet_messages
        .iter()
        .map(|m| nlnet::decode(m).unwrap())
        .collect();
    let cosmian_trees: Vec<_> = cosmian_messages
        .iter()
        .map(|m| (cosmian::decode(m).unwrap(), cosmian::flavor(m).unwrap()))
        .collect();
    // cosmian_kmip's writer gives back the bytes it read for these many messages.
    let cosmian_exact = cosmian_trees
        .iter()
        .zip(&cosmian_messages)
        .filter(|((t, f), m)| cosmian::encode(t, *f).as_deref() == Ok(m.as_slice()))
        .count();
    let mut out = Vec::with_capacity(64 * 1024);
    for (t, m) in trees.iter().zip(&messages) {
        out.clear();
        floor_encode(&events(m), &mut out);
        assert_eq!(&out, m);
        assert_eq!(&t.to_bytes().unwrap(), m);
    }
    // One output buffer per column, reused (cosmian_kmip's writer returns a new Vec).
    let (mut out_floor, mut out_kms, mut out_nlnet) = (out.clone(), out.clone(), out);
    let encode = "encode (per message)";
    let columns = [
        ("floor (minimal walk)", mean_len(&messages)),
        ("kms-kmip Node::encode", mean_len(&messages)),
        (nlnet_label.as_str(), mean_len(&nlnet_messages)),
        (cosmian_label.as_str(), mean_len(&cosmian_messages)),
    ];
    for (label, bytes) in columns {
        table.set_bytes(encode, label, bytes);
    }
    let mut encoders = vec![
        each(columns[0].0, &parsed, move |e| {
            out_floor.clear();
            floor_encode(black_box(e), &mut out_floor);
            black_box(&out_floor);
        }),
        each(columns[1].0, &trees, move |t| {
            out_kms.clear();
            let mut w = Writer::new(&mut out_kms);
            black_box(t).encode(&mut w);
            w.finish().unwrap();
            black_box(&out_kms);
        }),
        each(&nlnet_label, &nlnet_trees, move |t| {
            out_nlnet.clear();
            nlnet::write(black_box(t), &mut Cursor::new(&mut out_nlnet));
            black_box(&out_nlnet);
        }),
    ];
    if !cosmian_trees.is_empty() {
        encoders.push(each(&cosmian_label, &cosmian_trees, |(t, f)| {
            black_box(cosmian::encode(black_box(t), *f)).unwrap();
        }));
    }
    run_case(&mut c, &table, 1, encode, None, encoders);

    c.final_summary();
    println!(
        "KMIP generic TTLV codec: {} real messages, {:.0} bytes on average",
        messages.len(),
        mean_len(&messages)
    );
    cosmian::print_coverage(
        "TTLV reader",
        "column",
        cosmian_read,
        messages.len(),
        cosmian_exact,
        &cosmian_reasons,
    );
    table.print();
}
