//! The glue between the zero-copy TTLV reader/writer and the typed model: the [`Decode`] and [`Encode`]
//! traits, their implementations for the primitive types, and the `kmip_struct!` macro that derives both
//! for a structure from its field list (tag, cardinality, first version).
//!
//! Decoding walks the children of a structure once and dispatches on the tag with a `match` on constants
//! (a jump table, no map); children the model does not define are kept verbatim in `extensions` and written
//! back after the defined fields, so vendor extensions survive a decode/encode round trip.

use core::fmt;

use zeroize::Zeroizing;

use super::Error;
use crate::tags::Version;
use crate::ttlv::{Item, Node, Tag, Writer};

/// An item the model does not define, kept as decoded (owned) so that it can be written back unchanged.
pub type RawItem = Node<'static>;

/// Decoding a typed value from one TTLV item (whose tag the caller has already matched).
pub trait Decode: Sized {
    /// Decodes `item`.
    ///
    /// # Errors
    ///
    /// [`Error::WrongType`] if the item has another type than the model requires, [`Error::MissingField`],
    /// [`Error::UnknownEnumeration`], or a TTLV error of a child.
    fn decode(item: &Item<'_>) -> Result<Self, Error>;
}

/// Encoding a typed value as one TTLV item under `tag`, for the protocol version of the [`Encoder`].
pub trait Encode {
    /// Appends the item.
    ///
    /// # Errors
    ///
    /// [`Error::NotInVersion`] when the target version cannot express the value.
    fn encode(&self, tag: Tag, e: &mut Encoder<'_>) -> Result<(), Error>;
}

/// A TTLV [`Writer`] together with the protocol version being written, which selects 1.x or 2.x forms.
#[derive(Debug)]
pub struct Encoder<'b> {
    /// The underlying writer.
    pub w: Writer<'b>,
    version: Version,
}

impl<'b> Encoder<'b> {
    /// An encoder appending to `buf` for `version`.
    pub fn new(buf: &'b mut Vec<u8>, version: Version) -> Self {
        Self {
            w: Writer::new(buf),
            version,
        }
    }

    /// The target protocol version.
    #[must_use]
    pub const fn version(&self) -> Version {
        self.version
    }

    /// True when the target version is 2.0 or later (Attributes instead of Template-Attribute...).
    #[must_use]
    pub fn is_v2(&self) -> bool {
        self.version >= Version::V2_0
    }

    /// Fails with [`Error::NotInVersion`] when the target version is older than `since`.
    ///
    /// # Errors
    ///
    /// As described.
    pub fn require(&self, since: Version, what: &'static str) -> Result<(), Error> {
        if self.version < since {
            Err(Error::NotInVersion {
                what,
                version: self.version,
            })
        } else {
            Ok(())
        }
    }

    /// Ends encoding.
    ///
    /// # Errors
    ///
    /// A TTLV length overflow reported by the writer.
    pub fn finish(self) -> Result<(), Error> {
        self.w.finish().map_err(Error::from)
    }
}

/// A KMIP enumeration: a `u32` newtype with the values the specification defines.
pub trait KmipEnum: Copy {
    /// The enumeration's name in the specification.
    const NAME: &'static str;
    /// Wraps a wire value.
    fn from_u32(v: u32) -> Self;
    /// The wire value.
    fn to_u32(self) -> u32;
    /// True for values the specification defines.
    fn is_defined(self) -> bool;
}

/// Keeps an item the model does not define.
///
/// # Errors
///
/// A TTLV error inside the item.
pub fn raw(item: &Item<'_>) -> Result<RawItem, Error> {
    Ok(Node::from_item(item)?.into_owned())
}

/// Decodes an enumeration: extensions (0x8XXXXXXX) are kept, other values must be defined.
///
/// # Errors
///
/// [`Error::WrongType`] or [`Error::UnknownEnumeration`].
#[inline]
pub fn decode_enum<T: KmipEnum>(item: &Item<'_>) -> Result<T, Error> {
    let v = item.as_enumeration()?;
    let e = T::from_u32(v);
    if v & 0x8000_0000 == 0 && !e.is_defined() {
        return Err(Error::UnknownEnumeration {
            offset: item.offset(),
            tag: item.tag(),
            enumeration: T::NAME,
            value: v,
        });
    }
    Ok(e)
}

/// The error for a required field that is absent.
#[must_use]
#[inline]
pub fn missing(item: &Item<'_>, field: Tag) -> Error {
    Error::MissingField {
        offset: item.offset(),
        structure: item.tag(),
        field,
    }
}

/// Large, rarely present values are boxed so that the structures holding them stay small to move.
impl<T: Decode> Decode for Box<T> {
    #[inline]
    fn decode(item: &Item<'_>) -> Result<Self, Error> {
        T::decode(item).map(Box::new)
    }
}
impl<T: Encode> Encode for Box<T> {
    #[inline]
    fn encode(&self, tag: Tag, e: &mut Encoder<'_>) -> Result<(), Error> {
        (**self).encode(tag, e)
    }
}

impl Decode for i32 {
    #[inline]
    fn decode(item: &Item<'_>) -> Result<Self, Error> {
        Ok(item.as_integer()?)
    }
}
impl Encode for i32 {
    #[inline]
    fn encode(&self, tag: Tag, e: &mut Encoder<'_>) -> Result<(), Error> {
        e.w.integer(tag, *self);
        Ok(())
    }
}

impl Decode for i64 {
    #[inline]
    fn decode(item: &Item<'_>) -> Result<Self, Error> {
        Ok(item.as_long_integer()?)
    }
}
impl Encode for i64 {
    #[inline]
    fn encode(&self, tag: Tag, e: &mut Encoder<'_>) -> Result<(), Error> {
        e.w.long_integer(tag, *self);
        Ok(())
    }
}

impl Decode for bool {
    #[inline]
    fn decode(item: &Item<'_>) -> Result<Self, Error> {
        Ok(item.as_boolean()?)
    }
}
impl Encode for bool {
    #[inline]
    fn encode(&self, tag: Tag, e: &mut Encoder<'_>) -> Result<(), Error> {
        e.w.boolean(tag, *self);
        Ok(())
    }
}

impl Decode for String {
    #[inline]
    fn decode(item: &Item<'_>) -> Result<Self, Error> {
        Ok(item.as_text_string()?.to_owned())
    }
}
impl Encode for String {
    #[inline]
    fn encode(&self, tag: Tag, e: &mut Encoder<'_>) -> Result<(), Error> {
        e.w.text_string(tag, self);
        Ok(())
    }
}

impl Decode for Vec<u8> {
    #[inline]
    fn decode(item: &Item<'_>) -> Result<Self, Error> {
        Ok(item.as_byte_string()?.to_vec())
    }
}
impl Encode for Vec<u8> {
    #[inline]
    fn encode(&self, tag: Tag, e: &mut Encoder<'_>) -> Result<(), Error> {
        e.w.byte_string(tag, self);
        Ok(())
    }
}

/// A Date-Time: POSIX time in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct DateTime(pub i64);

impl Decode for DateTime {
    #[inline]
    fn decode(item: &Item<'_>) -> Result<Self, Error> {
        Ok(Self(item.as_date_time()?))
    }
}
impl Encode for DateTime {
    #[inline]
    fn encode(&self, tag: Tag, e: &mut Encoder<'_>) -> Result<(), Error> {
        e.w.date_time(tag, self.0);
        Ok(())
    }
}

/// A Date-Time Extended (KMIP 2.0+): POSIX time in microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct DateTimeExtended(pub i64);

impl Decode for DateTimeExtended {
    #[inline]
    fn decode(item: &Item<'_>) -> Result<Self, Error> {
        Ok(Self(item.as_date_time_extended()?))
    }
}
impl Encode for DateTimeExtended {
    fn encode(&self, tag: Tag, e: &mut Encoder<'_>) -> Result<(), Error> {
        e.require(Version::V2_0, "a Date-Time Extended")?;
        e.w.date_time_extended(tag, self.0);
        Ok(())
    }
}

/// An Interval in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Interval(pub u32);

impl Decode for Interval {
    #[inline]
    fn decode(item: &Item<'_>) -> Result<Self, Error> {
        Ok(Self(item.as_interval()?))
    }
}
impl Encode for Interval {
    #[inline]
    fn encode(&self, tag: Tag, e: &mut Encoder<'_>) -> Result<(), Error> {
        e.w.interval(tag, self.0);
        Ok(())
    }
}

/// A public Big Integer: big-endian two's complement bytes as on the wire (re-encoded unchanged).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct BigInteger(pub Vec<u8>);

impl Decode for BigInteger {
    #[inline]
    fn decode(item: &Item<'_>) -> Result<Self, Error> {
        Ok(Self(item.as_big_integer()?.to_vec()))
    }
}
impl Encode for BigInteger {
    #[inline]
    fn encode(&self, tag: Tag, e: &mut Encoder<'_>) -> Result<(), Error> {
        e.w.big_integer(tag, &self.0);
        Ok(())
    }
}

/// Secret bytes (key material, a private exponent): zeroized on drop, redacted in `Debug`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SecretBytes(pub Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// Takes ownership of `bytes`.
    #[must_use]
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The bytes.
    #[must_use]
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes([REDACTED; {}])", self.0.len())
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(v: Vec<u8>) -> Self {
        Self::new(v)
    }
}

/// Secret bytes carried as a Byte String.
impl Decode for SecretBytes {
    #[inline]
    fn decode(item: &Item<'_>) -> Result<Self, Error> {
        Ok(Self::new(item.as_byte_string()?.to_vec()))
    }
}
impl Encode for SecretBytes {
    #[inline]
    fn encode(&self, tag: Tag, e: &mut Encoder<'_>) -> Result<(), Error> {
        e.w.byte_string(tag, &self.0);
        Ok(())
    }
}

/// A secret Big Integer (private exponent, prime...): two's complement bytes as on the wire, zeroized on drop.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SecretBigInteger(pub Zeroizing<Vec<u8>>);

impl fmt::Debug for SecretBigInteger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBigInteger([REDACTED; {}])", self.0.len())
    }
}

impl Decode for SecretBigInteger {
    #[inline]
    fn decode(item: &Item<'_>) -> Result<Self, Error> {
        Ok(Self(Zeroizing::new(item.as_big_integer()?.to_vec())))
    }
}
impl Encode for SecretBigInteger {
    #[inline]
    fn encode(&self, tag: Tag, e: &mut Encoder<'_>) -> Result<(), Error> {
        e.w.big_integer(tag, &self.0);
        Ok(())
    }
}

impl Decode for RawItem {
    fn decode(item: &Item<'_>) -> Result<Self, Error> {
        raw(item)
    }
}

impl Encode for RawItem {
    fn encode(&self, tag: Tag, e: &mut Encoder<'_>) -> Result<(), Error> {
        if tag == self.tag {
            self.encode(&mut e.w);
        } else {
            Node {
                tag,
                value: self.value.clone(),
            }
            .encode(&mut e.w);
        }
        Ok(())
    }
}

/// Writes the kept unknown items of a structure.
#[inline]
pub fn encode_extensions(extensions: &[RawItem], e: &mut Encoder<'_>) {
    for x in extensions {
        x.encode(&mut e.w);
    }
}

/// Implements [`Decode`]/[`Encode`] for generated enumerations (Enumeration items) and masks (Integer items).
macro_rules! kmip_enums {
    (enums: $($t:ident),* ; masks: $($m:ident),* $(,)?) => {
        $(
            impl $crate::message::codec::Decode for $crate::message::enums::$t {
                #[inline]
                fn decode(item: &$crate::ttlv::Item<'_>) -> Result<Self, $crate::message::Error> {
                    $crate::message::codec::decode_enum(item)
                }
            }
            impl $crate::message::codec::Encode for $crate::message::enums::$t {
                #[inline]
                fn encode(
                    &self,
                    tag: $crate::ttlv::Tag,
                    e: &mut $crate::message::codec::Encoder<'_>,
                ) -> Result<(), $crate::message::Error> {
                    e.w.enumeration(tag, self.0);
                    Ok(())
                }
            }
        )*
        $(
            impl $crate::message::codec::Decode for $crate::message::enums::$m {
                #[inline]
                fn decode(item: &$crate::ttlv::Item<'_>) -> Result<Self, $crate::message::Error> {
                    // Masks are Integers on the wire; the bits are what matters.
                    Ok(Self(item.as_integer()?.cast_unsigned()))
                }
            }
            impl $crate::message::codec::Encode for $crate::message::enums::$m {
                #[inline]
                fn encode(
                    &self,
                    tag: $crate::ttlv::Tag,
                    e: &mut $crate::message::codec::Encoder<'_>,
                ) -> Result<(), $crate::message::Error> {
                    e.w.integer(tag, self.0.cast_signed());
                    Ok(())
                }
            }
        )*
    };
}

/// The field type for a cardinality.
macro_rules! kmip_field_ty {
    (req $t:ty) => { $t };
    (opt $t:ty) => { Option<$t> };
    (vec $t:ty) => { Vec<$t> };
    (object $t:ty) => { Option<Box<$t>> };
    (inline $t:ty) => { Option<$t> };
}

macro_rules! kmip_slot_init {
    (req) => {
        None
    };
    (object) => {
        None
    };
    (inline) => {
        None
    };
    (opt) => {
        None
    };
    (vec) => {
        Vec::new()
    };
}

macro_rules! kmip_slot_put {
    (req $t:ty, $slot:ident, $child:ident, $ext:ident) => {
        kmip_slot_put!(opt $t, $slot, $child, $ext)
    };
    (opt $t:ty, $slot:ident, $child:ident, $ext:ident) => {
        if $slot.is_none() {
            $slot = Some(<$t as $crate::message::codec::Decode>::decode(&$child)?);
        } else {
            // A repeated single field is not ours to interpret: keep it rather than lose it.
            $ext.push($crate::message::codec::raw(&$child)?);
        }
    };
    (vec $t:ty, $slot:ident, $child:ident, $ext:ident) => {
        $slot.push(<$t as $crate::message::codec::Decode>::decode(&$child)?)
    };
    (object $t:ty, $slot:ident, $child:ident, $ext:ident) => {
        kmip_slot_put!(opt Box<$t>, $slot, $child, $ext)
    };
    (inline $t:ty, $slot:ident, $child:ident, $ext:ident) => {
        if $child.tag() == $crate::ttlv::Tag::ATTRIBUTE {
            $slot.get_or_insert_with(<$t>::default).push_item(&$child, false)?;
        } else if $slot.is_none() {
            $slot = Some(<$t as $crate::message::codec::Decode>::decode(&$child)?);
        } else {
            $ext.push($crate::message::codec::raw(&$child)?);
        }
    };
}

macro_rules! kmip_slot_take {
    (req, $slot:ident, $item:ident, $tag:ident) => {
        match $slot {
            Some(v) => v,
            None => {
                return Err($crate::message::codec::missing(
                    $item,
                    $crate::ttlv::Tag::$tag,
                ))
            }
        }
    };
    (opt, $slot:ident, $item:ident, $tag:ident) => {
        $slot
    };
    (vec, $slot:ident, $item:ident, $tag:ident) => {
        $slot
    };
    (object, $slot:ident, $item:ident, $tag:ident) => {
        $slot
    };
    (inline, $slot:ident, $item:ident, $tag:ident) => {
        $slot
    };
}

macro_rules! kmip_is_set {
    (req, $v:expr) => {
        true
    };
    (opt, $v:expr) => {
        $v.is_some()
    };
    (vec, $v:expr) => {
        !$v.is_empty()
    };
    (object, $v:expr) => {
        $v.is_some()
    };
    (inline, $v:expr) => {
        $v.is_some()
    };
}

macro_rules! kmip_enc {
    (req, $v:expr, $tag:expr, $e:ident) => {
        $crate::message::codec::Encode::encode($v, $tag, $e)?;
    };
    (opt, $v:expr, $tag:expr, $e:ident) => {
        if let Some(v) = $v {
            $crate::message::codec::Encode::encode(v, $tag, $e)?;
        }
    };
    (vec, $v:expr, $tag:expr, $e:ident) => {
        for v in $v {
            $crate::message::codec::Encode::encode(v, $tag, $e)?;
        }
    };
    (object, $v:expr, $tag:expr, $e:ident) => {
        if let Some(v) = $v {
            v.encode_tagged($e)?;
        }
    };
    (inline, $v:expr, $tag:expr, $e:ident) => {
        if let Some(v) = $v {
            if $e.is_v2() {
                $crate::message::codec::Encode::encode(v, $crate::ttlv::Tag::ATTRIBUTES, $e)?;
            } else {
                v.encode_items($e)?;
            }
        }
    };
}

/// The tags a field accepts when decoding.
macro_rules! kmip_pat {
    (object, $tag:ident) => {
        $crate::ttlv::Tag::CERTIFICATE
            | $crate::ttlv::Tag::SYMMETRIC_KEY
            | $crate::ttlv::Tag::PUBLIC_KEY
            | $crate::ttlv::Tag::PRIVATE_KEY
            | $crate::ttlv::Tag::SPLIT_KEY
            | $crate::ttlv::Tag::TEMPLATE
            | $crate::ttlv::Tag::SECRET_DATA
            | $crate::ttlv::Tag::OPAQUE_OBJECT
            | $crate::ttlv::Tag::PGP_KEY
            | $crate::ttlv::Tag::CERTIFICATE_REQUEST
    };
    ($card:ident, $tag:ident) => {
        $crate::ttlv::Tag::$tag
    };
    ($card:ident, $tag:ident, $tag2:ident) => {
        $crate::ttlv::Tag::$tag | $crate::ttlv::Tag::$tag2
    };
}

macro_rules! kmip_pick_tag {
    ($e:ident, $tag:ident) => {
        $crate::ttlv::Tag::$tag
    };
    ($e:ident, $tag:ident, $tag2:ident) => {
        if $e.is_v2() {
            $crate::ttlv::Tag::$tag2
        } else {
            $crate::ttlv::Tag::$tag
        }
    };
}

/// Defines a KMIP structure with its [`Decode`] and [`Encode`] implementations.
///
/// Each field is `name: CARD Type = TAG`, CARD being `req` (required), `opt` or `vec` (zero or more),
/// `object` (a managed object under its own tag; TAG is ignored) or `inline` (attributes: 1.x `Attribute`
/// items directly in the structure, 2.x an `Attributes` structure; write `= ATTRIBUTE | ATTRIBUTES`);
/// `= TAG1 | TAG2` accepts either tag and writes TAG1 for 1.x and TAG2 for 2.x; `@ V2_0` marks a field
/// that only exists from that version on (encoding it for an older version fails).
macro_rules! kmip_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $card:ident $ty:ty = $tag:ident $(| $tag2:ident)? $(@ $since:ident)?
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Default)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                pub $field: kmip_field_ty!($card $ty),
            )*
            /// Children the model does not define (vendor extensions), in order; written back after the
            /// defined fields.
            pub extensions: Vec<$crate::message::codec::RawItem>,
        }

        impl $crate::message::codec::Decode for $name {
            fn decode(item: &$crate::ttlv::Item<'_>) -> Result<Self, $crate::message::Error> {
                $( let mut $field = kmip_slot_init!($card); )*
                let mut extensions = Vec::new();
                for child in item.children()? {
                    let child = child?;
                    match child.tag() {
                        $(
                            kmip_pat!($card, $tag $(, $tag2)?) => {
                                kmip_slot_put!($card $ty, $field, child, extensions);
                            }
                        )*
                        _ => extensions.push($crate::message::codec::raw(&child)?),
                    }
                }
                Ok(Self { $( $field: kmip_slot_take!($card, $field, item, $tag), )* extensions })
            }
        }

        impl $crate::message::codec::Encode for $name {
            fn encode(
                &self,
                tag: $crate::ttlv::Tag,
                e: &mut $crate::message::codec::Encoder<'_>,
            ) -> Result<(), $crate::message::Error> {
                let start = e.w.begin_structure(tag);
                $(
                    $(
                        if kmip_is_set!($card, self.$field) {
                            e.require($crate::tags::Version::$since, concat!(stringify!($name), ".", stringify!($field)))?;
                        }
                    )?
                    kmip_enc!($card, &self.$field, kmip_pick_tag!(e, $tag $(, $tag2)?), e);
                )*
                $crate::message::codec::encode_extensions(&self.extensions, e);
                e.w.end_structure(start);
                Ok(())
            }
        }
    };
}
