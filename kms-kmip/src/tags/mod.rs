//! KMIP tags, enumerations and masks of KMIP 1.0-1.4 and 2.0-2.1, with the protocol versions each one
//! belongs to.
//!
//! The tables in `generated.rs` are generated from the machine-readable tables in `kms-kmip/gen/input/`
//! by `kms-kmip/gen/generate.rs`; the test `ttlv_tags_generated` checks they are current and rewrites them
//! when run with `KMS_KMIP_REGENERATE=1`. Do not edit `generated.rs` by hand.
//!
//! Names are the spec's names normalised as the KMIP XML and JSON encodings want them (KMIP Profiles,
//! "Normalizing Names"): `"Cryptographic Usage Mask"` is `CryptographicUsageMask`, `"SHA-256"` is `SHA_256`.
//!
//! ```
//! use kms_kmip::tags::{self, Version};
//! use kms_kmip::ttlv::Tag;
//!
//! assert_eq!(Tag::CRYPTOGRAPHIC_ALGORITHM.name(), Some("CryptographicAlgorithm"));
//! assert_eq!(Tag::from_name("CryptographicAlgorithm"), Some(Tag::CRYPTOGRAPHIC_ALGORITHM));
//! assert_eq!(tags::enumeration_name(Tag::CRYPTOGRAPHIC_ALGORITHM, 3), Some("AES"));
//! assert_eq!(tags::enumeration_value(Tag::CRYPTOGRAPHIC_ALGORITHM, "AES"), Some(3));
//! assert!(Tag::TEMPLATE_ATTRIBUTE.versions().contains(Version::V1_4));
//! assert!(!Tag::TEMPLATE_ATTRIBUTE.versions().contains(Version::V2_1));
//! ```

#[rustfmt::skip]
mod generated;

use core::fmt;

use crate::ttlv::{ItemType, Tag};

/// A KMIP protocol version this crate knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    /// KMIP 1.0.
    V1_0,
    /// KMIP 1.1.
    V1_1,
    /// KMIP 1.2.
    V1_2,
    /// KMIP 1.3.
    V1_3,
    /// KMIP 1.4.
    V1_4,
    /// KMIP 2.0.
    V2_0,
    /// KMIP 2.1.
    V2_1,
}

impl Version {
    /// All versions, oldest first.
    pub const ALL: [Self; 7] = [
        Self::V1_0,
        Self::V1_1,
        Self::V1_2,
        Self::V1_3,
        Self::V1_4,
        Self::V2_0,
        Self::V2_1,
    ];

    /// The version with this Protocol Version Major/Minor, if known.
    #[must_use]
    pub const fn from_major_minor(major: i32, minor: i32) -> Option<Self> {
        Some(match (major, minor) {
            (1, 0) => Self::V1_0,
            (1, 1) => Self::V1_1,
            (1, 2) => Self::V1_2,
            (1, 3) => Self::V1_3,
            (1, 4) => Self::V1_4,
            (2, 0) => Self::V2_0,
            (2, 1) => Self::V2_1,
            _ => return None,
        })
    }

    /// (Protocol Version Major, Protocol Version Minor).
    #[must_use]
    pub const fn major_minor(self) -> (i32, i32) {
        match self {
            Self::V1_0 => (1, 0),
            Self::V1_1 => (1, 1),
            Self::V1_2 => (1, 2),
            Self::V1_3 => (1, 3),
            Self::V1_4 => (1, 4),
            Self::V2_0 => (2, 0),
            Self::V2_1 => (2, 1),
        }
    }

    const fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (major, minor) = self.major_minor();
        write!(f, "{major}.{minor}")
    }
}

/// A set of [`Version`]s.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Versions(u8);

impl Versions {
    /// No version: what an unknown tag or value belongs to.
    pub const NONE: Self = Self(0);
    /// Every known version.
    pub const ALL: Self = Self(0x7F);

    /// The versions from `first` to `last` inclusive.
    #[must_use]
    pub const fn range(first: Version, last: Version) -> Self {
        let mut bits = 0u8;
        let mut v = first as u8;
        while v <= last as u8 {
            bits |= 1 << v;
            v += 1;
        }
        Self(bits)
    }

    /// Whether `version` is in the set.
    #[must_use]
    pub const fn contains(self, version: Version) -> bool {
        self.0 & version.bit() != 0
    }

    /// True for the empty set.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The versions in the set, oldest first.
    pub fn iter(self) -> impl Iterator<Item = Version> {
        Version::ALL.into_iter().filter(move |v| self.contains(*v))
    }

    /// The raw bit set (bit n = `Version::ALL[n]`).
    #[must_use]
    pub const fn bits(self) -> u8 {
        self.0
    }

    pub(crate) const fn from_bits(bits: u8) -> Self {
        Self(bits & 0x7F)
    }
}

impl fmt::Debug for Versions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// What the specification says about a tag.
#[derive(Clone, Copy, Debug)]
pub struct TagInfo {
    /// The tag.
    pub tag: Tag,
    /// The normalised name used in KMIP XML and JSON (`ActivationDate`).
    pub name: &'static str,
    /// The name as the specification writes it (`Activation Date`).
    pub spec_name: &'static str,
    /// The versions that define the tag.
    pub versions: Versions,
    /// The item type the specification gives the tag, when it has exactly one.
    pub item_type: Option<ItemType>,
}

/// One value of an enumeration, or one bit of a mask.
#[derive(Clone, Copy, Debug)]
pub struct ValueInfo {
    /// The value (a mask's bit).
    pub value: u32,
    /// The normalised name used in KMIP XML and JSON (`RSA`, `UninterpretedTextString`, `SHA_256`).
    pub name: &'static str,
    /// The versions that define the value.
    pub versions: Versions,
}

/// An enumeration or mask type (Cryptographic Algorithm, Cryptographic Usage Mask, ...).
#[derive(Clone, Copy, Debug)]
pub struct EnumInfo {
    /// The normalised name of the enumeration.
    pub name: &'static str,
    /// Its values, sorted by value.
    pub values: &'static [ValueInfo],
    /// True for a bit mask (an Integer whose bits are named), false for an Enumeration.
    pub is_mask: bool,
}

impl EnumInfo {
    /// The name of `value`.
    #[must_use]
    pub fn name_of(&self, value: u32) -> Option<&'static str> {
        self.info_of(value).map(|v| v.name)
    }

    /// The entry for `value`.
    #[must_use]
    pub fn info_of(&self, value: u32) -> Option<&'static ValueInfo> {
        self.values
            .binary_search_by_key(&value, |v| v.value)
            .ok()
            .and_then(|i| self.values.get(i))
    }

    /// The value named `name`.
    #[must_use]
    pub fn value_of(&self, name: &str) -> Option<u32> {
        self.values.iter().find(|v| v.name == name).map(|v| v.value)
    }
}

impl Tag {
    /// What the specification says about this tag, if it defines it.
    #[must_use]
    pub fn info(self) -> Option<&'static TagInfo> {
        let tags = &generated::TAGS;
        tags.binary_search_by_key(&self, |t| t.tag)
            .ok()
            .and_then(|i| tags.get(i))
    }

    /// The normalised name (`ActivationDate`), if the specification defines the tag.
    #[must_use]
    pub fn name(self) -> Option<&'static str> {
        self.info().map(|t| t.name)
    }

    /// The tag with this normalised name (`ActivationDate`).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        let by_name = &generated::TAGS_BY_NAME;
        let i = by_name.binary_search_by(|(n, _)| (*n).cmp(name)).ok()?;
        by_name
            .get(i)
            .and_then(|(_, index)| generated::TAGS.get(*index as usize))
            .map(|t| t.tag)
    }

    /// The tag whose specification name is `spec_name` (`"Cryptographic Algorithm"`), as KMIP 1.x Attribute
    /// Name carries it. A linear search: meant for the text encodings, not for the binary hot path.
    #[must_use]
    pub fn from_spec_name(spec_name: &str) -> Option<Self> {
        generated::TAGS
            .iter()
            .find(|t| t.spec_name == spec_name)
            .map(|t| t.tag)
    }

    /// The versions that define this tag (empty for unknown and extension tags).
    #[must_use]
    pub fn versions(self) -> Versions {
        self.info().map_or(Versions::NONE, |t| t.versions)
    }

    /// Whether `version` defines this tag.
    #[must_use]
    pub fn is_defined_in(self, version: Version) -> bool {
        self.versions().contains(version)
    }

    /// The enumeration (or mask) whose values this tag carries, if it is an Enumeration or mask tag.
    #[must_use]
    pub fn enumeration(self) -> Option<&'static EnumInfo> {
        let map = &generated::TAG_ENUMS;
        let i = map.binary_search_by_key(&self, |(t, _)| *t).ok()?;
        map.get(i)
            .and_then(|(_, e)| generated::ENUMS.get(*e as usize))
    }
}

/// Every tag the tables define, sorted by value.
#[must_use]
pub fn all_tags() -> &'static [TagInfo] {
    &generated::TAGS
}

/// Every enumeration and mask the tables define.
#[must_use]
pub fn all_enumerations() -> &'static [EnumInfo] {
    &generated::ENUMS
}

/// True for the KMIP 2.x items whose Enumeration value is a tag (Attribute Reference, Tag): their names are
/// tag names (`<AttributeReference type="Enumeration" value="CryptographicAlgorithm"/>`).
#[must_use]
pub fn enumerates_tags(tag: Tag) -> bool {
    tag == Tag::ATTRIBUTE_REFERENCE || tag == Tag::TAG
}

/// The name of enumeration `value` of the Enumeration item tagged `tag`.
#[must_use]
pub fn enumeration_name(tag: Tag, value: u32) -> Option<&'static str> {
    if enumerates_tags(tag) {
        return Tag::new(value).and_then(Tag::name);
    }
    tag.enumeration()
        .filter(|e| !e.is_mask)
        .and_then(|e| e.name_of(value))
}

/// The value of the enumeration name `name` for the item tagged `tag`.
#[must_use]
pub fn enumeration_value(tag: Tag, name: &str) -> Option<u32> {
    if enumerates_tags(tag) {
        return Tag::from_name(name).map(Tag::value);
    }
    tag.enumeration()
        .filter(|e| !e.is_mask)
        .and_then(|e| e.value_of(name))
}

/// The named bits of the mask carried by the Integer item tagged `tag` (Cryptographic Usage Mask, ...).
#[must_use]
pub fn mask_bits(tag: Tag) -> Option<&'static [ValueInfo]> {
    tag.enumeration().filter(|e| e.is_mask).map(|e| e.values)
}
