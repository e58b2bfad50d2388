//! KMIP Get Attributes, Get Attribute List, Add Attribute, Set Attribute, Modify Attribute and Delete Attribute.
//!
//! Attributes travel as [`Attribute`] values (one KMIP attribute, typed) and are named by [`AttributeName`]. Which
//! attributes a client may change follows KMIP 2.1 §4 ("Modifiable by client"); the server-managed ones answer
//! [`Error::AttributeReadOnly`]. Two rules follow PKCS#11 where KMIP leaves room: Sensitive can only be switched on
//! and Extractable only switched off, so that no attribute operation can make a protected key exportable.

use time::OffsetDateTime;

use super::{KeyManager, apply_dates};
use crate::audit::Operation;
use crate::error::{Error, Result};
use crate::object::{
    AttributeValue, Attributes, CryptographicAlgorithm, Link, Name, ObjectId, ObjectMetadata,
    ObjectType, RecommendedCurve, RevocationReason, Rights, State, UsageLimits, UsageMask,
};
use crate::principal::Principal;

/// Most values of one multi-valued attribute (Names, Object Groups, Links) on one object.
pub const MAX_VALUES: usize = 64;
/// Most custom attributes on one object.
pub const MAX_CUSTOM: usize = 64;
/// Longest text value (names, groups, descriptions, custom attribute names and values).
pub const MAX_TEXT_LEN: usize = 4096;

/// The name of a KMIP attribute, as Get Attributes and Delete Attribute take it.
#[allow(missing_docs)] // the names are KMIP's
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AttributeName {
    UniqueIdentifier,
    ObjectType,
    State,
    CryptographicAlgorithm,
    CryptographicLength,
    CryptographicUsageMask,
    RecommendedCurve,
    Name,
    ObjectGroup,
    Link,
    Sensitive,
    AlwaysSensitive,
    Extractable,
    NeverExtractable,
    ContactInformation,
    Description,
    Comment,
    InitialDate,
    ActivationDate,
    ProcessStartDate,
    ProtectStopDate,
    DeactivationDate,
    DestroyDate,
    CompromiseOccurrenceDate,
    CompromiseDate,
    LastChangeDate,
    OriginalCreationDate,
    RevocationReason,
    UsageLimits,
    Fresh,
    /// A custom attribute (`x-` client, `y-` server in KMIP 1.x; a Vendor Attribute in 2.x), by its name.
    Custom(String),
}

impl AttributeName {
    /// The attribute's name as KMIP spells it ("Cryptographic Algorithm"), or the custom name.
    #[must_use]
    pub fn kmip_name(&self) -> &str {
        use AttributeName as N;
        match self {
            N::UniqueIdentifier => "Unique Identifier",
            N::ObjectType => "Object Type",
            N::State => "State",
            N::CryptographicAlgorithm => "Cryptographic Algorithm",
            N::CryptographicLength => "Cryptographic Length",
            N::CryptographicUsageMask => "Cryptographic Usage Mask",
            N::RecommendedCurve => "Recommended Curve",
            N::Name => "Name",
            N::ObjectGroup => "Object Group",
            N::Link => "Link",
            N::Sensitive => "Sensitive",
            N::AlwaysSensitive => "Always Sensitive",
            N::Extractable => "Extractable",
            N::NeverExtractable => "Never Extractable",
            N::ContactInformation => "Contact Information",
            N::Description => "Description",
            N::Comment => "Comment",
            N::InitialDate => "Initial Date",
            N::ActivationDate => "Activation Date",
            N::ProcessStartDate => "Process Start Date",
            N::ProtectStopDate => "Protect Stop Date",
            N::DeactivationDate => "Deactivation Date",
            N::DestroyDate => "Destroy Date",
            N::CompromiseOccurrenceDate => "Compromise Occurrence Date",
            N::CompromiseDate => "Compromise Date",
            N::LastChangeDate => "Last Change Date",
            N::OriginalCreationDate => "Original Creation Date",
            N::RevocationReason => "Revocation Reason",
            N::UsageLimits => "Usage Limits",
            N::Fresh => "Fresh",
            N::Custom(name) => name,
        }
    }

    /// The attribute KMIP names `name` ("Cryptographic Algorithm"); any other name is a custom attribute.
    /// The reverse of [`AttributeName::kmip_name`].
    #[must_use]
    pub fn from_kmip_name(name: &str) -> Self {
        use AttributeName as N;
        const KNOWN: [AttributeName; 30] = [
            N::UniqueIdentifier,
            N::ObjectType,
            N::State,
            N::CryptographicAlgorithm,
            N::CryptographicLength,
            N::CryptographicUsageMask,
            N::RecommendedCurve,
            N::Name,
            N::ObjectGroup,
            N::Link,
            N::Sensitive,
            N::AlwaysSensitive,
            N::Extractable,
            N::NeverExtractable,
            N::ContactInformation,
            N::Description,
            N::Comment,
            N::InitialDate,
            N::ActivationDate,
            N::ProcessStartDate,
            N::ProtectStopDate,
            N::DeactivationDate,
            N::DestroyDate,
            N::CompromiseOccurrenceDate,
            N::CompromiseDate,
            N::LastChangeDate,
            N::OriginalCreationDate,
            N::RevocationReason,
            N::UsageLimits,
            N::Fresh,
        ];
        KNOWN
            .into_iter()
            .find(|k| k.kmip_name() == name)
            .unwrap_or_else(|| N::Custom(name.to_owned()))
    }

    /// Whether only the server sets it (KMIP "Modifiable by client: No"; custom `y-` attributes).
    #[must_use]
    pub fn is_read_only(&self) -> bool {
        use AttributeName as N;
        match self {
            N::UniqueIdentifier
            | N::ObjectType
            | N::State
            | N::CryptographicAlgorithm
            | N::CryptographicLength
            | N::RecommendedCurve
            | N::AlwaysSensitive
            | N::NeverExtractable
            | N::InitialDate
            | N::DestroyDate
            | N::CompromiseOccurrenceDate
            | N::CompromiseDate
            | N::LastChangeDate
            | N::RevocationReason
            | N::Fresh => true,
            N::Custom(name) => is_server_custom(name),
            _ => false,
        }
    }

    /// Whether an object may carry several values of it.
    #[must_use]
    pub fn is_multi_valued(&self) -> bool {
        matches!(
            self,
            AttributeName::Name | AttributeName::ObjectGroup | AttributeName::Link
        )
    }

    /// Whether a client may delete it (KMIP "Deletable by client").
    #[must_use]
    pub fn is_deletable(&self) -> bool {
        use AttributeName as N;
        match self {
            N::Name
            | N::ObjectGroup
            | N::Link
            | N::ContactInformation
            | N::Description
            | N::Comment => true,
            N::Custom(name) => !is_server_custom(name),
            _ => false,
        }
    }
}

/// One KMIP attribute with its value.
#[allow(missing_docs)] // the names are KMIP's
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Attribute {
    UniqueIdentifier(ObjectId),
    ObjectType(ObjectType),
    State(State),
    CryptographicAlgorithm(CryptographicAlgorithm),
    CryptographicLength(u32),
    CryptographicUsageMask(UsageMask),
    RecommendedCurve(RecommendedCurve),
    Name(Name),
    ObjectGroup(String),
    Link(Link),
    Sensitive(bool),
    AlwaysSensitive(bool),
    Extractable(bool),
    NeverExtractable(bool),
    ContactInformation(String),
    Description(String),
    Comment(String),
    InitialDate(OffsetDateTime),
    ActivationDate(OffsetDateTime),
    ProcessStartDate(OffsetDateTime),
    ProtectStopDate(OffsetDateTime),
    DeactivationDate(OffsetDateTime),
    DestroyDate(OffsetDateTime),
    CompromiseOccurrenceDate(OffsetDateTime),
    CompromiseDate(OffsetDateTime),
    LastChangeDate(OffsetDateTime),
    OriginalCreationDate(OffsetDateTime),
    RevocationReason(RevocationReason),
    UsageLimits(UsageLimits),
    Fresh(bool),
    /// A custom attribute: its name and value.
    Custom(String, AttributeValue),
}

impl Attribute {
    /// Which attribute this is.
    #[must_use]
    pub fn name(&self) -> AttributeName {
        use Attribute as A;
        use AttributeName as N;
        match self {
            A::UniqueIdentifier(_) => N::UniqueIdentifier,
            A::ObjectType(_) => N::ObjectType,
            A::State(_) => N::State,
            A::CryptographicAlgorithm(_) => N::CryptographicAlgorithm,
            A::CryptographicLength(_) => N::CryptographicLength,
            A::CryptographicUsageMask(_) => N::CryptographicUsageMask,
            A::RecommendedCurve(_) => N::RecommendedCurve,
            A::Name(_) => N::Name,
            A::ObjectGroup(_) => N::ObjectGroup,
            A::Link(_) => N::Link,
            A::Sensitive(_) => N::Sensitive,
            A::AlwaysSensitive(_) => N::AlwaysSensitive,
            A::Extractable(_) => N::Extractable,
            A::NeverExtractable(_) => N::NeverExtractable,
            A::ContactInformation(_) => N::ContactInformation,
            A::Description(_) => N::Description,
            A::Comment(_) => N::Comment,
            A::InitialDate(_) => N::InitialDate,
            A::ActivationDate(_) => N::ActivationDate,
            A::ProcessStartDate(_) => N::ProcessStartDate,
            A::ProtectStopDate(_) => N::ProtectStopDate,
            A::DeactivationDate(_) => N::DeactivationDate,
            A::DestroyDate(_) => N::DestroyDate,
            A::CompromiseOccurrenceDate(_) => N::CompromiseOccurrenceDate,
            A::CompromiseDate(_) => N::CompromiseDate,
            A::LastChangeDate(_) => N::LastChangeDate,
            A::OriginalCreationDate(_) => N::OriginalCreationDate,
            A::RevocationReason(_) => N::RevocationReason,
            A::UsageLimits(_) => N::UsageLimits,
            A::Fresh(_) => N::Fresh,
            A::Custom(name, _) => N::Custom(name.clone()),
        }
    }
}

/// Server-defined custom attributes (KMIP 1.x `y-` prefix) are never set by clients.
pub(super) fn is_server_custom(name: &str) -> bool {
    name.starts_with("y-")
}

/// Every attribute the object has, in KMIP's order.
#[must_use]
pub fn attributes_of(m: &ObjectMetadata) -> Vec<Attribute> {
    use Attribute as A;
    let a = &m.attributes;
    let mut out = vec![
        A::UniqueIdentifier(m.id.clone()),
        A::ObjectType(m.object_type),
        A::State(m.state),
    ];
    out.extend(a.cryptographic_algorithm.map(A::CryptographicAlgorithm));
    out.extend(a.cryptographic_length.map(A::CryptographicLength));
    out.extend(a.cryptographic_usage_mask.map(A::CryptographicUsageMask));
    out.extend(a.recommended_curve.map(A::RecommendedCurve));
    out.extend(a.names.iter().cloned().map(A::Name));
    out.extend(a.object_groups.iter().cloned().map(A::ObjectGroup));
    out.extend(a.links.iter().cloned().map(A::Link));
    out.push(A::Sensitive(a.sensitive));
    out.push(A::AlwaysSensitive(a.always_sensitive));
    out.push(A::Extractable(a.extractable));
    out.push(A::NeverExtractable(a.never_extractable));
    out.extend(a.contact_information.clone().map(A::ContactInformation));
    out.extend(a.description.clone().map(A::Description));
    out.extend(a.comment.clone().map(A::Comment));
    out.extend(a.initial_date.map(A::InitialDate));
    out.extend(a.activation_date.map(A::ActivationDate));
    out.extend(a.process_start_date.map(A::ProcessStartDate));
    out.extend(a.protect_stop_date.map(A::ProtectStopDate));
    out.extend(a.deactivation_date.map(A::DeactivationDate));
    out.extend(a.destroy_date.map(A::DestroyDate));
    out.extend(
        a.compromise_occurrence_date
            .map(A::CompromiseOccurrenceDate),
    );
    out.extend(a.compromise_date.map(A::CompromiseDate));
    out.extend(a.last_change_date.map(A::LastChangeDate));
    out.extend(a.original_creation_date.map(A::OriginalCreationDate));
    out.extend(a.revocation_reason.clone().map(A::RevocationReason));
    out.extend(a.usage_limits.map(A::UsageLimits));
    out.extend(a.fresh.map(A::Fresh));
    out.extend(
        a.custom
            .iter()
            .map(|(k, v)| A::Custom(k.clone(), v.clone())),
    );
    out
}

/// Bounds on what clients can make an object carry.
pub(super) fn check_limits(a: &Attributes) -> Result<()> {
    let long = |s: &str| s.is_empty() || s.len() > MAX_TEXT_LEN;
    if a.names.len() > MAX_VALUES
        || a.object_groups.len() > MAX_VALUES
        || a.links.len() > MAX_VALUES
    {
        return Err(Error::InvalidAttributeValue(format!(
            "at most {MAX_VALUES} values of one attribute"
        )));
    }
    if a.custom.len() > MAX_CUSTOM {
        return Err(Error::InvalidAttributeValue(format!(
            "at most {MAX_CUSTOM} custom attributes"
        )));
    }
    let texts = a
        .names
        .iter()
        .map(|n| n.value.as_str())
        .chain(a.object_groups.iter().map(String::as_str))
        .chain(a.contact_information.as_deref())
        .chain(a.description.as_deref())
        .chain(a.comment.as_deref())
        .chain(a.custom.keys().map(String::as_str));
    for t in texts {
        if long(t) {
            return Err(Error::InvalidAttributeValue(format!(
                "text values must be 1 to {MAX_TEXT_LEN} bytes"
            )));
        }
    }
    for v in a.custom.values() {
        let len = match v {
            AttributeValue::Text(s) => s.len(),
            AttributeValue::BigInteger(b) | AttributeValue::Bytes(b) => b.len(),
            _ => 0,
        };
        if len > MAX_TEXT_LEN {
            return Err(Error::InvalidAttributeValue(format!(
                "custom values must be at most {MAX_TEXT_LEN} bytes"
            )));
        }
    }
    Ok(())
}

impl KeyManager {
    /// The object's metadata (type, effective state, owner, grants, attributes), with [`Rights::READ`].
    ///
    /// # Errors
    /// [`Error::ItemNotFound`] when the object does not exist or the caller may not see it; store errors.
    pub fn metadata(&self, who: &Principal, id: &ObjectId) -> Result<ObjectMetadata> {
        let now = self.now();
        let result = self.load(who, id, Rights::READ, now).map(|o| o.metadata);
        self.audited(who, Operation::GetAttributes, Some(id), result)
    }

    /// KMIP Get Attributes: the values of the named attributes the object has (all of them when `names` is empty).
    /// Names the object lacks are left out, as KMIP specifies.
    ///
    /// # Errors
    /// As [`KeyManager::metadata`].
    pub fn get_attributes(
        &self,
        who: &Principal,
        id: &ObjectId,
        names: &[AttributeName],
    ) -> Result<Vec<Attribute>> {
        let now = self.now();
        let result = self.load(who, id, Rights::READ, now).map(|o| {
            let all = attributes_of(&o.metadata);
            if names.is_empty() {
                all
            } else {
                all.into_iter()
                    .filter(|a| names.contains(&a.name()))
                    .collect()
            }
        });
        self.audited(who, Operation::GetAttributes, Some(id), result)
    }

    /// KMIP Get Attribute List: the names of the attributes the object has.
    ///
    /// # Errors
    /// As [`KeyManager::metadata`].
    pub fn get_attribute_list(&self, who: &Principal, id: &ObjectId) -> Result<Vec<AttributeName>> {
        let now = self.now();
        let result = self.load(who, id, Rights::READ, now).map(|o| {
            let mut names: Vec<AttributeName> = attributes_of(&o.metadata)
                .iter()
                .map(Attribute::name)
                .collect();
            names.dedup();
            names
        });
        self.audited(who, Operation::GetAttributeList, Some(id), result)
    }

    /// KMIP Add Attribute: adds a value to a multi-valued attribute, or sets a single-valued one the object lacks.
    ///
    /// # Errors
    /// [`Error::AttributeReadOnly`] for server-managed attributes; [`Error::AttributeSingleValued`] when a
    /// single-valued attribute is already set; [`Error::NonUniqueNameAttribute`]; [`Error::InvalidAttributeValue`];
    /// [`Error::WrongKeyLifecycleState`] for dates the state no longer allows changing; access and store errors.
    pub fn add_attribute(
        &self,
        who: &Principal,
        id: &ObjectId,
        attribute: Attribute,
    ) -> Result<()> {
        let result =
            self.change_attributes(who, id, &attribute.name(), name_of(&attribute), |m, now| {
                let name = attribute.name();
                if name.is_multi_valued() {
                    push_value(m, &attribute)
                } else if has_value(m, &name) {
                    Err(Error::AttributeSingleValued(name.kmip_name().to_owned()))
                } else {
                    set_single(m, &attribute, now)
                }
            });
        self.audited(who, Operation::AddAttribute, Some(id), result)
    }

    /// KMIP Set Attribute (KMIP 2.0): sets a single-valued attribute, replacing any value.
    ///
    /// # Errors
    /// [`Error::MultiValuedAttribute`] for Name, Object Group and Link (use add/modify/delete); otherwise as
    /// [`KeyManager::add_attribute`].
    pub fn set_attribute(
        &self,
        who: &Principal,
        id: &ObjectId,
        attribute: Attribute,
    ) -> Result<()> {
        let result =
            self.change_attributes(who, id, &attribute.name(), name_of(&attribute), |m, now| {
                let name = attribute.name();
                if name.is_multi_valued() {
                    return Err(Error::MultiValuedAttribute(name.kmip_name().to_owned()));
                }
                set_single(m, &attribute, now)
            });
        self.audited(who, Operation::SetAttribute, Some(id), result)
    }

    /// KMIP Modify Attribute: replaces an existing value. For multi-valued attributes `current` picks the instance
    /// (the first one when `None`); for single-valued ones, when given, it must be the current value.
    ///
    /// # Errors
    /// [`Error::AttributeNotFound`] when the object has no such value; [`Error::InvalidField`] when `current` and
    /// `new` are different attributes; otherwise as [`KeyManager::add_attribute`].
    pub fn modify_attribute(
        &self,
        who: &Principal,
        id: &ObjectId,
        current: Option<Attribute>,
        new: Attribute,
    ) -> Result<()> {
        let result = self.change_attributes(who, id, &new.name(), name_of(&new), |m, now| {
            let name = new.name();
            if current.as_ref().is_some_and(|c| c.name() != name) {
                return Err(Error::InvalidField(
                    "Current Attribute and New Attribute differ in name".into(),
                ));
            }
            let not_found = || Error::AttributeNotFound(name.kmip_name().to_owned());
            if name.is_multi_valued() {
                let position = match &current {
                    Some(c) => find_value(m, c),
                    None => first_value(m, &name),
                }
                .ok_or_else(not_found)?;
                remove_value_at(m, &name, position);
                push_value(m, &new)
            } else {
                let existing = attributes_of(m).into_iter().find(|a| a.name() == name);
                match (existing, &current) {
                    (None, _) => Err(not_found()),
                    (Some(e), Some(c)) if &e != c => Err(not_found()),
                    _ => set_single(m, &new, now),
                }
            }
        });
        self.audited(who, Operation::ModifyAttribute, Some(id), result)
    }

    /// KMIP Adjust Attribute (KMIP 2.1 §6.1.2): changes a client-modifiable number, date or Boolean by
    /// `adjustment`, read and written in one update so that concurrent adjustments all count. The new value is
    /// set as Set Attribute would set it: its rules (a date only in the states that allow changing it, Sensitive
    /// only switched on, Extractable only off) and the date-driven state apply. Audited as a Modify Attribute.
    ///
    /// # Errors
    /// [`Error::AttributeReadOnly`] for server-managed attributes; [`Error::AttributeNotFound`] when the object
    /// lacks it; [`Error::InvalidField`] when the adjustment does not apply to the attribute's type (text, a
    /// mask, negating a date); [`Error::InvalidAttributeValue`] when the result leaves the type's range;
    /// otherwise as [`KeyManager::set_attribute`].
    pub fn adjust_attribute(
        &self,
        who: &Principal,
        id: &ObjectId,
        name: AttributeName,
        adjustment: Adjustment,
    ) -> Result<()> {
        let result = self.change_attributes(who, id, &name, None, |m, now| {
            if name.is_multi_valued() {
                return Err(Error::MultiValuedAttribute(name.kmip_name().to_owned()));
            }
            let current = attributes_of(m)
                .into_iter()
                .find(|a| a.name() == name)
                .ok_or_else(|| Error::AttributeNotFound(name.kmip_name().to_owned()))?;
            set_single(m, &adjustment.apply(current)?, now)
        });
        self.audited(who, Operation::ModifyAttribute, Some(id), result)
    }

    /// KMIP Delete Attribute: removes one value (`current`) or every value of the attribute `name`.
    ///
    /// # Errors
    /// [`Error::AttributeReadOnly`] for attributes clients may not delete; [`Error::AttributeNotFound`] when the
    /// object lacks it; access and store errors.
    pub fn delete_attribute(
        &self,
        who: &Principal,
        id: &ObjectId,
        name: AttributeName,
        current: Option<Attribute>,
    ) -> Result<()> {
        let result = self
            .update_object(who, id, Rights::MODIFY, |o, _now| {
                let m = &mut o.metadata;
                if !name.is_deletable() {
                    return Err(Error::AttributeReadOnly(name.kmip_name().to_owned()));
                }
                if current.as_ref().is_some_and(|c| c.name() != name) {
                    return Err(Error::InvalidField(
                        "Current Attribute is not the named attribute".into(),
                    ));
                }
                let not_found = || Error::AttributeNotFound(name.kmip_name().to_owned());
                match &current {
                    Some(c) => {
                        let position = find_value(m, c).ok_or_else(not_found)?;
                        remove_value_at(m, &name, position);
                    }
                    None => {
                        if !has_value(m, &name) {
                            return Err(not_found());
                        }
                        while let Some(position) = first_value(m, &name) {
                            remove_value_at(m, &name, position);
                        }
                    }
                }
                Ok(())
            })
            .map(|_| ());
        self.audited(who, Operation::DeleteAttribute, Some(id), result)
    }

    /// The common path of attribute changes: MODIFY right, read-only check, the change, limits, date-driven state,
    /// and Name uniqueness under the names lock.
    fn change_attributes(
        &self,
        who: &Principal,
        id: &ObjectId,
        name: &AttributeName,
        new_name: Option<&Name>,
        mut change: impl FnMut(&mut ObjectMetadata, OffsetDateTime) -> Result<()>,
    ) -> Result<()> {
        if name.is_read_only() {
            return Err(Error::AttributeReadOnly(name.kmip_name().to_owned()));
        }
        let _names = new_name.map(|n| self.names.lock(std::iter::once(n.value.as_str())));
        self.update_object(who, id, Rights::MODIFY, |o, now| {
            let m = &mut o.metadata;
            change(m, now)?;
            check_limits(&m.attributes)?;
            super::create::check_date_order(&m.attributes)?;
            apply_dates(m, now);
            if let Some(n) = new_name {
                self.check_names_unique(&m.owner, std::slice::from_ref(n), &[&m.id])?;
            }
            Ok(())
        })
        .map(|_| ())
    }
}

/// The Name an attribute change adds, which must stay unique.
fn name_of(attribute: &Attribute) -> Option<&Name> {
    match attribute {
        Attribute::Name(n) => Some(n),
        _ => None,
    }
}

/// How KMIP Adjust Attribute changes a value (KMIP 2.1 Adjustment Type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Adjustment {
    /// Adds the amount: to a number, or seconds to a date or an interval.
    Increment(i64),
    /// Subtracts the amount: from a number, or seconds from a date or an interval.
    Decrement(i64),
    /// Negates a number, or turns a Boolean over.
    Negate,
}

impl Adjustment {
    /// `current` adjusted.
    fn apply(self, current: Attribute) -> Result<Attribute> {
        let name = current.name();
        let not_for = || {
            Error::InvalidField(format!(
                "Adjust Attribute {self:?} does not apply to {}",
                name.kmip_name()
            ))
        };
        let out_of_range = || {
            Error::InvalidAttributeValue(format!("{} adjusted is out of range", name.kmip_name()))
        };
        let delta = match self {
            Self::Increment(n) => Some(n),
            Self::Decrement(n) => Some(n.checked_neg().ok_or_else(out_of_range)?),
            Self::Negate => None,
        };
        let date = |d: OffsetDateTime| -> Result<OffsetDateTime> {
            let seconds = delta.ok_or_else(not_for)?;
            d.checked_add(time::Duration::seconds(seconds))
                .ok_or_else(out_of_range)
        };
        let flag = |b: bool| {
            if delta.is_none() {
                Ok(!b)
            } else {
                Err(not_for())
            }
        };
        use Attribute as A;
        Ok(match current {
            A::ActivationDate(d) => A::ActivationDate(date(d)?),
            A::ProcessStartDate(d) => A::ProcessStartDate(date(d)?),
            A::ProtectStopDate(d) => A::ProtectStopDate(date(d)?),
            A::DeactivationDate(d) => A::DeactivationDate(date(d)?),
            A::OriginalCreationDate(d) => A::OriginalCreationDate(date(d)?),
            A::Sensitive(b) => A::Sensitive(flag(b)?),
            A::Extractable(b) => A::Extractable(flag(b)?),
            A::Custom(k, v) => {
                let v = match (v, delta) {
                    (AttributeValue::Integer(i), Some(d)) => AttributeValue::Integer(
                        i32::try_from(d)
                            .ok()
                            .and_then(|d| i.checked_add(d))
                            .ok_or_else(out_of_range)?,
                    ),
                    (AttributeValue::Integer(i), None) => {
                        AttributeValue::Integer(i.checked_neg().ok_or_else(out_of_range)?)
                    }
                    (AttributeValue::LongInteger(i), Some(d)) => {
                        AttributeValue::LongInteger(i.checked_add(d).ok_or_else(out_of_range)?)
                    }
                    (AttributeValue::LongInteger(i), None) => {
                        AttributeValue::LongInteger(i.checked_neg().ok_or_else(out_of_range)?)
                    }
                    (AttributeValue::Interval(i), Some(d)) => AttributeValue::Interval(
                        i64::from(i)
                            .checked_add(d)
                            .and_then(|n| u32::try_from(n).ok())
                            .ok_or_else(out_of_range)?,
                    ),
                    (AttributeValue::DateTime(t), _) => AttributeValue::DateTime(date(t)?),
                    (AttributeValue::Boolean(b), _) => AttributeValue::Boolean(flag(b)?),
                    _ => return Err(not_for()),
                };
                A::Custom(k, v)
            }
            _ => return Err(not_for()),
        })
    }
}

fn has_value(m: &ObjectMetadata, name: &AttributeName) -> bool {
    attributes_of(m).iter().any(|a| &a.name() == name)
}

/// Index, within its list, of the first value of a multi-valued attribute or of a custom attribute.
fn first_value(m: &ObjectMetadata, name: &AttributeName) -> Option<usize> {
    let a = &m.attributes;
    match name {
        AttributeName::Name => (!a.names.is_empty()).then_some(0),
        AttributeName::ObjectGroup => (!a.object_groups.is_empty()).then_some(0),
        AttributeName::Link => (!a.links.is_empty()).then_some(0),
        _ => has_value(m, name).then_some(0),
    }
}

fn find_value(m: &ObjectMetadata, value: &Attribute) -> Option<usize> {
    let a = &m.attributes;
    match value {
        Attribute::Name(n) => a.names.iter().position(|x| x == n),
        Attribute::ObjectGroup(g) => a.object_groups.iter().position(|x| x == g),
        Attribute::Link(l) => a.links.iter().position(|x| x == l),
        other => attributes_of(m).iter().any(|x| x == other).then_some(0),
    }
}

fn remove_value_at(m: &mut ObjectMetadata, name: &AttributeName, position: usize) {
    let a = &mut m.attributes;
    match name {
        AttributeName::Name => {
            a.names.remove(position);
        }
        AttributeName::ObjectGroup => {
            a.object_groups.remove(position);
        }
        AttributeName::Link => {
            a.links.remove(position);
        }
        AttributeName::ContactInformation => a.contact_information = None,
        AttributeName::Description => a.description = None,
        AttributeName::Comment => a.comment = None,
        AttributeName::Custom(k) => {
            a.custom.remove(k);
        }
        // Only deletable attributes reach here (checked by the callers).
        _ => {}
    }
}

fn push_value(m: &mut ObjectMetadata, value: &Attribute) -> Result<()> {
    let a = &mut m.attributes;
    match value {
        Attribute::Name(n) => {
            if !a.names.contains(n) {
                a.names.push(n.clone());
            }
        }
        Attribute::ObjectGroup(g) => {
            if !a.object_groups.contains(g) {
                a.object_groups.push(g.clone());
            }
        }
        Attribute::Link(l) => {
            if !a.links.contains(l) {
                a.links.push(l.clone());
            }
        }
        other => {
            return Err(Error::AttributeSingleValued(
                other.name().kmip_name().to_owned(),
            ));
        }
    }
    Ok(())
}

/// Sets a client-modifiable single-valued attribute, with the rules KMIP (and PKCS#11, for the two flags) give it.
fn set_single(m: &mut ObjectMetadata, value: &Attribute, _now: OffsetDateTime) -> Result<()> {
    let state = m.state;
    let whole = |d: &OffsetDateTime| super::whole_seconds(*d);
    let a = &mut m.attributes;
    let in_states = |allowed: &[State]| {
        if allowed.contains(&state) {
            Ok(())
        } else {
            Err(Error::WrongKeyLifecycleState(state))
        }
    };
    match value {
        Attribute::CryptographicUsageMask(u) => a.cryptographic_usage_mask = Some(*u),
        Attribute::Sensitive(s) => {
            if a.sensitive && !s {
                return Err(Error::InvalidAttributeValue(
                    "Sensitive cannot be switched off".into(),
                ));
            }
            a.sensitive = *s;
        }
        Attribute::Extractable(e) => {
            if !a.extractable && *e {
                return Err(Error::InvalidAttributeValue(
                    "Extractable cannot be switched back on".into(),
                ));
            }
            a.extractable = *e;
        }
        Attribute::ContactInformation(s) => a.contact_information = Some(s.clone()),
        Attribute::Description(s) => a.description = Some(s.clone()),
        Attribute::Comment(s) => a.comment = Some(s.clone()),
        Attribute::ActivationDate(d) => {
            // KMIP 2.1 §4.1: changeable only while Pre-Active; a date not in the future activates at once.
            in_states(&[State::PreActive])?;
            a.activation_date = Some(whole(d));
        }
        Attribute::ProcessStartDate(d) => {
            in_states(&[State::PreActive, State::Active])?;
            a.process_start_date = Some(whole(d));
        }
        Attribute::ProtectStopDate(d) => {
            in_states(&[State::PreActive, State::Active])?;
            a.protect_stop_date = Some(whole(d));
        }
        Attribute::DeactivationDate(d) => {
            // A date already passed deactivates the key at once (apply_dates, after the change).
            in_states(&[State::PreActive, State::Active])?;
            a.deactivation_date = Some(whole(d));
        }
        Attribute::OriginalCreationDate(d) => a.original_creation_date = Some(whole(d)),
        // KMIP: the client sets the Total (and Unit); the server keeps the Count, which starts at the Total.
        Attribute::UsageLimits(l) => a.usage_limits = Some(UsageLimits::new(l.total, l.unit)),
        Attribute::Custom(k, v) => {
            a.custom.insert(k.clone(), v.clone());
        }
        other => {
            return Err(Error::AttributeReadOnly(
                other.name().kmip_name().to_owned(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kmip_names_round_trip() {
        for name in [
            "Unique Identifier",
            "Cryptographic Usage Mask",
            "Name",
            "Object Group",
            "Compromise Occurrence Date",
            "Revocation Reason",
        ] {
            let n = AttributeName::from_kmip_name(name);
            assert!(!matches!(n, AttributeName::Custom(_)), "{name}");
            assert_eq!(n.kmip_name(), name);
        }
        assert_eq!(
            AttributeName::from_kmip_name("x-team"),
            AttributeName::Custom("x-team".into())
        );
        assert!(AttributeName::from_kmip_name("y-anything").is_read_only());
        assert!(AttributeName::from_kmip_name("State").is_read_only());
        assert!(!AttributeName::from_kmip_name("Activation Date").is_read_only());
        assert!(AttributeName::from_kmip_name("Link").is_multi_valued());
    }
}
