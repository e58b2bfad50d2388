//! The indexed columns of a record, and Locate as SQL over them.
//!
//! The columns repeat what the record's metadata already holds in the clear (sealing authenticates metadata but
//! does not hide it), so they reveal nothing more than the record. They are derived from the metadata on every
//! write; Get always reads the sealed record, so a tampered column can at worst change which ids Locate returns,
//! never what an object is.
//!
//! Text is stored as `bytea`: PostgreSQL text cannot hold NUL, which KMIP text strings (ids, names, owners) may.
//! Dates are stored as (seconds, nanoseconds) pairs, compared as rows, so filters are exact to the nanosecond over
//! the whole range of [`OffsetDateTime`], which `timestamptz` (microseconds, from 4713 BC) is not.

use time::OffsetDateTime;
use tokio_postgres::types::ToSql;

use crate::object::{LifecycleEvent, ObjectMetadata, Rights, State};
use crate::store::{DateRange, LocateQuery, StoreError};

/// The column list of `INSERT` and `UPDATE`, in parameter order `$1..$18`.
pub(super) const COLUMNS: [&str; 18] = [
    "id",
    "version",
    "object_type",
    "state",
    "owner",
    "readers",
    "algorithm",
    "length",
    "usage_mask",
    "names",
    "object_groups",
    "initial_s",
    "initial_ns",
    "activation_s",
    "activation_ns",
    "deactivation_s",
    "deactivation_ns",
    "sealed_record",
];

/// One object's row, owned so that it can move to the store's runtime.
pub(super) struct Row {
    pub(super) id: Vec<u8>,
    pub(super) version: i64,
    object_type: i32,
    pub(super) state: i32,
    owner: Vec<u8>,
    readers: Vec<Vec<u8>>,
    algorithm: Option<i64>,
    length: Option<i64>,
    usage_mask: Option<i64>,
    names: Vec<Vec<u8>>,
    object_groups: Vec<Vec<u8>>,
    initial: (Option<i64>, Option<i32>),
    activation: (Option<i64>, Option<i32>),
    deactivation: (Option<i64>, Option<i32>),
    sealed_record: Vec<u8>,
}

/// Sorted, deduplicated byte strings: the values of an array column.
fn set<'a>(values: impl Iterator<Item = &'a str>) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = values.map(|s| s.as_bytes().to_vec()).collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn date(d: Option<OffsetDateTime>) -> (Option<i64>, Option<i32>) {
    match d {
        None => (None, None),
        // nanosecond() < 10^9 always fits.
        Some(d) => (
            Some(d.unix_timestamp()),
            Some(i32::try_from(d.nanosecond()).unwrap_or(i32::MAX)),
        ),
    }
}

/// A version as the `bigint` column holds it.
pub(super) fn version_column(version: u64) -> Result<i64, StoreError> {
    i64::try_from(version).map_err(|_| StoreError::InvalidRequest("version out of range"))
}

pub(super) fn state_column(state: State) -> i32 {
    // KMIP state values are 1..=6.
    state as i32
}

impl Row {
    pub(super) fn new(
        metadata: &ObjectMetadata,
        version: u64,
        sealed_record: Vec<u8>,
    ) -> Result<Self, StoreError> {
        let a = &metadata.attributes;
        Ok(Self {
            id: metadata.id.as_str().as_bytes().to_vec(),
            version: version_column(version)?,
            object_type: metadata.object_type as i32,
            state: state_column(metadata.state),
            owner: metadata.owner.as_bytes().to_vec(),
            readers: set(metadata
                .grants
                .iter()
                .filter(|g| g.rights.contains(Rights::READ))
                .map(|g| g.principal.as_str())),
            algorithm: a.cryptographic_algorithm.map(|x| i64::from(x.to_kmip())),
            length: a.cryptographic_length.map(i64::from),
            usage_mask: a.cryptographic_usage_mask.map(|m| i64::from(m.bits())),
            names: set(a.names.iter().map(|n| n.value.as_str())),
            object_groups: set(a.object_groups.iter().map(String::as_str)),
            initial: date(a.initial_date),
            activation: date(a.activation_date),
            deactivation: date(a.deactivation_date),
            sealed_record,
        })
    }

    /// The parameters `$1..$18`, in [`COLUMNS`] order.
    pub(super) fn params(&self) -> [&(dyn ToSql + Sync); 18] {
        [
            &self.id,
            &self.version,
            &self.object_type,
            &self.state,
            &self.owner,
            &self.readers,
            &self.algorithm,
            &self.length,
            &self.usage_mask,
            &self.names,
            &self.object_groups,
            &self.initial.0,
            &self.initial.1,
            &self.activation.0,
            &self.activation.1,
            &self.deactivation.0,
            &self.deactivation.1,
            &self.sealed_record,
        ]
    }
}

/// The states from which `to` can be reached by KMIP's transitions (zero or more of them: one write may apply
/// several, e.g. a deactivation date that passed and then Destroy). An update moving an object anywhere else is a
/// lifecycle regression (Destroyed back to Active, say) and is refused inside the `UPDATE` itself.
pub(super) fn states_leading_to(to: State) -> Vec<i32> {
    const EVENTS: [LifecycleEvent; 4] = [
        LifecycleEvent::Activate,
        LifecycleEvent::Deactivate,
        LifecycleEvent::Compromise,
        LifecycleEvent::Destroy,
    ];
    State::ALL
        .into_iter()
        .filter(|&from| {
            let mut reached = vec![from];
            let mut i = 0;
            while let Some(&s) = reached.get(i) {
                for e in EVENTS {
                    if let Ok(next) = s.apply(e)
                        && !reached.contains(&next)
                    {
                        reached.push(next);
                    }
                }
                i += 1;
            }
            reached.contains(&to)
        })
        .map(state_column)
        .collect()
}

/// A parameter that can move to the store's runtime.
pub(super) type Param = Box<dyn ToSql + Sync + Send>;

/// `SELECT id ... ORDER BY seq OFFSET .. LIMIT ..` for a query, with its parameters; `None` when the query
/// cannot match anything (Maximum Items 0).
pub(super) fn locate_sql(query: &LocateQuery) -> Option<(String, Vec<Param>)> {
    if query.max_items == Some(0) {
        return None;
    }
    let mut sql = String::from("SELECT id FROM kms_objects WHERE true");
    let mut params: Vec<Param> = Vec::new();
    let mut bind = |params: &mut Vec<Param>, p: Param| {
        params.push(p);
        format!("${}", params.len())
    };
    if let Some(p) = &query.visible_to {
        let n = bind(&mut params, Box::new(p.as_bytes().to_vec()));
        sql += &format!(" AND (owner = {n} OR readers @> ARRAY[{n}::bytea])");
    }
    if let Some(t) = query.object_type {
        let n = bind(&mut params, Box::new(t as i32));
        sql += &format!(" AND object_type = {n}");
    }
    if let Some(a) = query.algorithm {
        let n = bind(&mut params, Box::new(i64::from(a.to_kmip())));
        sql += &format!(" AND algorithm = {n}");
    }
    if let Some(l) = query.length {
        let n = bind(&mut params, Box::new(i64::from(l)));
        sql += &format!(" AND length = {n}");
    }
    if let Some(s) = query.state {
        let n = bind(&mut params, Box::new(state_column(s)));
        sql += &format!(" AND state = {n}");
    }
    if let Some(name) = &query.name {
        let n = bind(&mut params, Box::new(name.as_bytes().to_vec()));
        sql += &format!(" AND names @> ARRAY[{n}::bytea]");
    }
    if let Some(g) = &query.object_group {
        let n = bind(&mut params, Box::new(g.as_bytes().to_vec()));
        sql += &format!(" AND object_groups @> ARRAY[{n}::bytea]");
    }
    if let Some(m) = query.usage_mask {
        let n = bind(&mut params, Box::new(i64::from(m.bits())));
        sql += &format!(" AND (usage_mask & {n}) = {n}");
    }
    for (column, range) in [
        ("initial", &query.initial_date),
        ("activation", &query.activation_date),
        ("deactivation", &query.deactivation_date),
    ] {
        date_range(&mut sql, &mut params, &mut bind, column, range);
    }
    // Offsets and limits past i64::MAX select the same as i64::MAX does.
    let offset = i64::try_from(query.offset).unwrap_or(i64::MAX);
    let n = bind(&mut params, Box::new(offset));
    sql += &format!(" ORDER BY seq OFFSET {n}");
    if let Some(max) = query.max_items {
        let n = bind(
            &mut params,
            Box::new(i64::try_from(max).unwrap_or(i64::MAX)),
        );
        sql += &format!(" LIMIT {n}");
    }
    Some((sql, params))
}

fn date_range(
    sql: &mut String,
    params: &mut Vec<Param>,
    bind: &mut impl FnMut(&mut Vec<Param>, Param) -> String,
    column: &str,
    range: &DateRange,
) {
    for (bound, op) in [(range.from, ">="), (range.to, "<=")] {
        if let (Some(s), Some(ns)) = date(bound) {
            let s = bind(params, Box::new(s));
            let ns = bind(params, Box::new(ns));
            // A row comparison with a NULL column is NULL: objects without the date never match a set bound.
            *sql += &format!(" AND ({column}_s, {column}_ns) {op} ({s}, {ns})");
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn transitions_only_go_forward() {
        use State as S;
        let from = |to| states_leading_to(to);
        assert_eq!(from(S::PreActive), vec![1]);
        assert_eq!(from(S::Active), vec![1, 2]);
        // Active reaches Destroyed through Deactivated (a passed deactivation date, then Destroy).
        assert_eq!(from(S::Destroyed), vec![1, 2, 3, 5]);
        assert_eq!(from(S::DestroyedCompromised), vec![1, 2, 3, 4, 5, 6]);
        assert!(!from(S::Active).contains(&state_column(S::Destroyed)));
    }

    #[test]
    fn max_items_zero_selects_nothing_and_huge_offsets_saturate() {
        let q = LocateQuery {
            max_items: Some(0),
            ..LocateQuery::default()
        };
        assert!(locate_sql(&q).is_none());
        let q = LocateQuery {
            offset: usize::MAX,
            max_items: Some(usize::MAX),
            ..LocateQuery::default()
        };
        let (sql, params) = locate_sql(&q).unwrap();
        assert!(sql.ends_with("ORDER BY seq OFFSET $1 LIMIT $2"), "{sql}");
        assert_eq!(params.len(), 2);
    }
}
