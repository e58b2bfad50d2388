//! Locate filters, evaluated in memory by the embedded stores and pushed down to SQL by the PostgreSQL store.

use time::OffsetDateTime;

use crate::object::{CryptographicAlgorithm, ObjectMetadata, ObjectType, Rights, State, UsageMask};

/// An inclusive range of dates; either end may be open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DateRange {
    /// Earliest date matched.
    pub from: Option<OffsetDateTime>,
    /// Latest date matched.
    pub to: Option<OffsetDateTime>,
}

impl DateRange {
    fn matches(&self, date: Option<OffsetDateTime>) -> bool {
        if self.from.is_none() && self.to.is_none() {
            return true;
        }
        date.is_some_and(|d| self.from.is_none_or(|f| d >= f) && self.to.is_none_or(|t| d <= t))
    }
}

/// The filters of KMIP Locate, with access control folded in. Every set filter must match.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LocateQuery {
    /// Only objects this principal owns or holds [`Rights::READ`] on; `None` for administrators.
    pub visible_to: Option<String>,
    /// Object Type.
    pub object_type: Option<ObjectType>,
    /// Cryptographic Algorithm.
    pub algorithm: Option<CryptographicAlgorithm>,
    /// Cryptographic Length.
    pub length: Option<u32>,
    /// State.
    pub state: Option<State>,
    /// A Name value (exact match).
    pub name: Option<String>,
    /// An Object Group (exact match).
    pub object_group: Option<String>,
    /// Every bit of this mask must be set in the object's Cryptographic Usage Mask.
    pub usage_mask: Option<UsageMask>,
    /// Initial Date range.
    pub initial_date: DateRange,
    /// Activation Date range.
    pub activation_date: DateRange,
    /// Deactivation Date range.
    pub deactivation_date: DateRange,
    /// Objects skipped before the first returned (KMIP Offset Items).
    pub offset: usize,
    /// Most objects returned (KMIP Maximum Items); `None` for all.
    pub max_items: Option<usize>,
}

impl LocateQuery {
    /// Whether `m` passes every filter (offset and maximum aside).
    #[must_use]
    pub fn matches(&self, m: &ObjectMetadata) -> bool {
        let a = &m.attributes;
        self.visible_to.as_deref().is_none_or(|p| {
            m.owner == p
                || m.grants
                    .iter()
                    .any(|g| g.principal == p && g.rights.contains(Rights::READ))
        }) && self.object_type.is_none_or(|t| m.object_type == t)
            && self
                .algorithm
                .is_none_or(|x| a.cryptographic_algorithm == Some(x))
            && self
                .length
                .is_none_or(|x| a.cryptographic_length == Some(x))
            && self.state.is_none_or(|s| m.state == s)
            && self
                .name
                .as_deref()
                .is_none_or(|n| a.names.iter().any(|x| x.value == n))
            && self
                .object_group
                .as_deref()
                .is_none_or(|g| a.object_groups.iter().any(|x| x == g))
            && self
                .usage_mask
                .is_none_or(|u| a.cryptographic_usage_mask.is_some_and(|x| x.contains(u)))
            && self.initial_date.matches(a.initial_date)
            && self.activation_date.matches(a.activation_date)
            && self.deactivation_date.matches(a.deactivation_date)
    }
}
