//! Plugboard's hub: identity resolution, the router, the store, the event bus and the API that
//! connectors, the agent console and the chat widget talk to. The binary `plugboard` wires it up.

pub mod api;
pub mod auth;
pub mod bus;
pub mod cluster;
pub mod config;
pub mod conversations;
pub mod crm;
pub mod csat;
pub mod demo;
pub mod dispatcher;
pub mod domain;
pub mod email;
pub mod gauges;
pub mod health;
pub mod http;
pub mod intake;
pub mod knowledge;
pub mod lease;
pub mod lockout;
pub mod messaging;
pub mod ops;
pub mod outbox;
pub mod privacy;
pub mod profile;
pub mod reports;
pub mod routing;
pub mod secrets;
pub mod server;
pub mod store;
pub mod teams;
pub mod telephony;
#[cfg(test)]
mod test_redis;
pub mod tokenize;
pub mod transcript;
pub mod visitor;
pub mod wallboard;
