//! End-to-end tests of the envgen binary: one integration-test binary, one module per topic.

mod crash;
mod deploy;
mod e2e;
mod failures;
mod forgery;
mod fuzz_corpus;
mod keys;
mod leaks;
mod parsers;
mod rotation;
mod testkit;
