//! Customers (tenants): create, list, and the checks that one exists.

use super::error::{during, Action, Error, Result};
use crate::domain::time::Millis;
use crate::domain::webhook::validate_label;
use crate::domain::{CustomerId, Scope, ValidationError};
use crate::store::{Customer, Store, StoreError};

/// Creates a customer named `name` (1–100 characters, unique).
pub fn create(store: &Store, name: &str, now: Millis) -> Result<Customer> {
    during(Action::CreateCustomer, || {
        let name = validate_label("customer_name", name)?;
        Ok(store.create_customer(&name, now)?)
    })
}

/// The customers `scope` may see.
pub fn list(store: &Store, scope: Scope) -> Result<Vec<Customer>> {
    during(Action::ListCustomers, || Ok(store.customers(scope)?))
}

/// Refuses (as input, field `customer`) a customer that does not exist, saying how to make
/// one: for actions that create something for it.
pub fn require(store: &Store, id: CustomerId) -> Result<()> {
    match store.customer(Scope::All, id) {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound { .. }) => Err(ValidationError::new(
            "customer",
            format!("no customer {id}; create one with `webnet customers create NAME`"),
        )
        .into()),
        Err(e) => Err(Error::from(e).during(Action::Open)),
    }
}

/// Fails ([`Error::PinnedCustomerMissing`]) when the customer a session is pinned to does not
/// exist, rather than finding nothing and saying so as if all were well.
pub fn check_pinned(store: &Store, scope: Scope) -> Result<()> {
    let Scope::Customer(c) = scope else {
        return Ok(());
    };
    match store.customer(Scope::All, c) {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound { .. }) => Err(Error::PinnedCustomerMissing(c)),
        Err(e) => Err(Error::from(e).during(Action::Open)),
    }
}
