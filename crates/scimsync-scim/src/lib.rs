//! The SCIM 2.0 wire client (RFC 7644): `client` sends requests and reads answers, `auth`
//! adds credentials, `bulk` packs many writes into `/Bulk` requests, `throttle` paces and
//! retries, `discovery` reads what a service provider says it supports. The resources and operations it carries are `scimsync_lang::scim`'s.

pub mod auth;
pub mod bulk;
pub mod client;
pub mod discovery;
pub mod throttle;
