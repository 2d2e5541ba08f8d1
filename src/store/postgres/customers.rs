//! Customers (tenants). A pinned scope sees only its own customer.

use postgres::Row;

use super::conn::is_unique_violation;
use super::PgStore;
use crate::domain::time::Millis;
use crate::domain::{CustomerId, Scope, ValidationError};
use crate::store::{Customer, Result, StoreError};

const SELECT: &str = "SELECT c.id, c.name, c.created_at,
        (SELECT count(*) FROM webhooks w WHERE w.customer_id = c.id)
    FROM customers c";

fn row(r: &Row) -> Result<Customer> {
    Ok(Customer {
        id: CustomerId(r.try_get(0)?),
        name: r.try_get(1)?,
        created_at: r.try_get(2)?,
        webhooks: r.try_get(3)?,
    })
}

/// `e` as [`StoreError::Conflict`] on `field` with `message` when it is a unique violation (a
/// name taken), as SQLite's `conflict_or`; else classified as usual.
pub(super) fn conflict_or(
    e: postgres::Error,
    field: &'static str,
    message: impl FnOnce() -> String,
) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Conflict(ValidationError::new(field, message()))
    } else {
        e.into()
    }
}

impl PgStore {
    pub fn create_customer(&self, name: &str, now: Millis) -> Result<Customer> {
        let id: i64 = {
            let mut client = self.client()?;
            client
                .query_one(
                    "INSERT INTO customers (name, created_at) VALUES ($1, $2) RETURNING id",
                    &[&name, &now],
                )
                .map_err(|e| {
                    conflict_or(e, "customer_name", || {
                        format!("a customer named {name:?} already exists")
                    })
                })?
                .try_get(0)?
        };
        self.customer(Scope::All, CustomerId(id))
    }

    pub fn customers(&self, scope: Scope) -> Result<Vec<Customer>> {
        let rows = self.client()?.query(
            &format!("{SELECT} WHERE $1::bigint IS NULL OR c.id = $1 ORDER BY c.id"),
            &[&scope.customer()],
        )?;
        rows.iter().map(row).collect()
    }

    /// One customer, if `scope` may see it.
    pub fn customer(&self, scope: Scope, id: CustomerId) -> Result<Customer> {
        let found = self.client()?.query_opt(
            &format!("{SELECT} WHERE c.id = $1 AND ($2::bigint IS NULL OR c.id = $2)"),
            &[&id.0, &scope.customer()],
        )?;
        found
            .as_ref()
            .map(row)
            .transpose()?
            .ok_or_else(|| StoreError::not_found("customer", id))
    }
}
