//! The integration tests: the real `webnet` binary on temporary databases, one module per area,
//! all in one test binary (one link, one process; like ripgrep's and cargo's suites).
//! `common` holds the shared helpers: `Env` (the binary on a temp database), the recording
//! `Receiver`, the write lock held from outside.

mod common;

mod alert_formats;
mod chat;
mod database;
mod delivery;
mod destinations_chat;
mod drain;
mod drain_service;
mod faults;
mod generated;
mod health;
mod history;
mod input;
mod integrations;
mod interactive;
mod keys;
mod listen;
mod metrics;
mod postgres;
mod processes;
mod proxy;
mod readme;
mod reliability;
mod request_body;
mod retention;
mod rotation;
mod schedule;
mod scoping;
mod scoping_matrix;
mod secrets;
mod secrets_generate;
mod serve_api;
mod serve_openapi;
mod serve_scoping;
mod serve_spec;
mod signatures;
mod stats;
mod storage;
mod tables;
mod targets;
mod tls;
mod tokens;
mod ui;
mod ui_browser;
mod ui_forms;
mod validation;
mod webhooks;
