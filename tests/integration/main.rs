//! End-to-end tests of the envgen binary: one integration-test binary, one module per topic.

mod crash;
mod delivery;
mod deploy;
mod e2e;
mod edges;
mod failures;
mod forgery;
mod fuzz_corpus;
mod keys;
mod kinds;
mod leaks;
mod openbao;
mod parsers;
mod profiles;
mod rotation;
mod services;
mod stacks;
mod team;
mod testkit;
