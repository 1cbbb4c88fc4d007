//! Work that must happen after a change, written to a table in the same transaction as the change
//! and delivered by a worker that any replica may run, so that a replica dying at any moment loses
//! nothing. (Mail has its own outbox in `mail`.)

pub mod backchannel;
