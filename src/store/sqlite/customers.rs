//! Customers (tenants). A pinned scope sees only its own customer.

use rusqlite::{params, OptionalExtension};

use super::{conflict_or, Result, SqliteStore, StoreError};
use crate::domain::time::Millis;
use crate::domain::{CustomerId, Scope};
use crate::store::Customer;

const SELECT: &str = "SELECT c.id, c.name, c.created_at,
        (SELECT count(*) FROM webhooks w WHERE w.customer_id = c.id)
    FROM customers c";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Customer> {
    Ok(Customer {
        id: CustomerId(r.get(0)?),
        name: r.get(1)?,
        created_at: r.get(2)?,
        webhooks: r.get(3)?,
    })
}

impl SqliteStore {
    pub fn create_customer(&self, name: &str, now: Millis) -> Result<Customer> {
        self.conn
            .execute(
                "INSERT INTO customers (name, created_at) VALUES (?1, ?2)",
                params![name, now],
            )
            .map_err(|e| {
                conflict_or(e, "customer_name", || {
                    format!("a customer named {name:?} already exists")
                })
            })?;
        let id = CustomerId(self.conn.last_insert_rowid());
        self.customer(Scope::All, id)
    }

    pub fn customers(&self, scope: Scope) -> Result<Vec<Customer>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{SELECT} WHERE ?1 IS NULL OR c.id = ?1 ORDER BY c.id"
        ))?;
        let rows = stmt.query_map([scope.customer()], row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// One customer, if `scope` may see it.
    pub fn customer(&self, scope: Scope, id: CustomerId) -> Result<Customer> {
        self.conn
            .prepare_cached(&format!(
                "{SELECT} WHERE c.id = ?1 AND (?2 IS NULL OR c.id = ?2)"
            ))?
            .query_row(params![id.0, scope.customer()], row)
            .optional()?
            .ok_or_else(|| StoreError::not_found("customer", id))
    }
}
