//! Claim and outcome SQL on a temporary database.
